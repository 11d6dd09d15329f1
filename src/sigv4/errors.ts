import { CofferError, type ErrorCode } from "../core/errors.ts";

/**
 * S3 error codes produced by SigV4 verification and aws-chunked decoding. The gateway maps
 * them 1:1 onto S3's XML `<Code>` (and HTTP status).
 */
export type SigV4ErrorCode =
  | "AccessDenied"
  | "AuthorizationHeaderMalformed"
  | "AuthorizationQueryParametersError"
  | "BadDigest"
  | "IncompleteBody"
  | "InvalidAccessKeyId"
  | "InvalidArgument"
  | "InvalidChunkSizeError"
  | "InvalidDigest"
  | "InvalidRequest"
  | "InvalidToken"
  | "MalformedTrailerError"
  | "MissingSecurityHeader"
  | "RequestTimeTooSkewed"
  | "SignatureDoesNotMatch"
  | "XAmzContentSHA256Mismatch";

/** Maps an S3 code onto the project-wide {@link ErrorCode}. */
function cofferCode(code: SigV4ErrorCode): ErrorCode {
  switch (code) {
    case "AccessDenied":
    case "InvalidAccessKeyId":
    case "RequestTimeTooSkewed":
    case "SignatureDoesNotMatch":
      return "AUTH";
    case "BadDigest":
    case "XAmzContentSHA256Mismatch":
      return "CORRUPT";
    default:
      return "BAD_INPUT";
  }
}

/**
 * A SigV4 / aws-chunked failure. `s3Code` is the S3 error code; `code` is the coarse
 * {@link ErrorCode} (`AUTH`, `CORRUPT` or `BAD_INPUT`).
 */
export class SigV4Error extends CofferError {
  readonly s3Code: SigV4ErrorCode;

  constructor(s3Code: SigV4ErrorCode, message: string, options?: { cause?: unknown }) {
    super(cofferCode(s3Code), message, options);
    this.s3Code = s3Code;
  }
}

/** True when `err` is a {@link SigV4Error}, optionally with the given S3 code. */
export function isSigV4Error(err: unknown, s3Code?: SigV4ErrorCode): err is SigV4Error {
  return err instanceof SigV4Error && (s3Code === undefined || err.s3Code === s3Code);
}
