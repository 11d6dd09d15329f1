/**
 * Stable error codes. Add a code here (alphabetical within its group) rather than
 * inventing ad-hoc strings. HTTP/S3 mapping happens only in `src/server/`, exit codes only
 * in `src/cli/`.
 */
export type ErrorCode =
  // storage
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "NO_SPACE"
  | "PERMISSION_DENIED"
  | "IO"
  | "NETWORK"
  // repository / format
  | "REPO_NOT_FOUND"
  | "REPO_EXISTS"
  | "WRONG_PASSWORD"
  | "CORRUPT"
  | "UNSUPPORTED_VERSION"
  | "SNAPSHOT_NOT_FOUND"
  | "AMBIGUOUS_ID"
  | "KEY_IN_USE"
  // input / commands
  | "BAD_INPUT"
  | "COMMAND_FAILED"
  | "INTERRUPTED"
  | "LOCKED"
  | "PARTIAL"
  // gateway / s3
  | "AUTH"
  | "FORBIDDEN"
  | "CONFLICT"
  | "PRECONDITION_FAILED"
  | "CONFIG"
  | "DB_VERSION";

/** An expected failure with a stable machine-readable `code` and a one-line message. */
export class CofferError extends Error {
  override readonly name = "CofferError";
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** True when `err` is a {@link CofferError}, optionally with the given code. */
export function isCofferError(err: unknown, code?: ErrorCode): err is CofferError {
  return err instanceof CofferError && (code === undefined || err.code === code);
}

/** Maps a Node.js system error (ENOENT, ENOSPC, ...) to a CofferError with `what` as context. */
export function fromSystemError(err: unknown, what: string): CofferError {
  if (err instanceof CofferError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  switch (code) {
    case "ENOENT":
      return new CofferError("NOT_FOUND", `${what}: not found`, { cause: err });
    case "EEXIST":
      return new CofferError("ALREADY_EXISTS", `${what}: already exists`, { cause: err });
    case "ENOSPC":
    case "EDQUOT":
      return new CofferError("NO_SPACE", `${what}: no space left on device`, { cause: err });
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return new CofferError("PERMISSION_DENIED", `${what}: permission denied`, { cause: err });
    default:
      return new CofferError("IO", `${what}: ${detail}`, { cause: err });
  }
}
