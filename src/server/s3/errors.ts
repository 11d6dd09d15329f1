import { isCofferError } from "../../core/errors.ts";
import { isSigV4Error } from "../../sigv4/errors.ts";

/** S3 error codes the gateway emits, with their HTTP status. */
export const S3_ERRORS = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketAlreadyOwnedByYou: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  IncompleteBody: 400,
  RequestTimeout: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidChunkSizeError: 403,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidToken: 400,
  KeyTooLongError: 400,
  MalformedTrailerError: 400,
  MalformedXML: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  MissingSecurityHeader: 400,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NotImplemented: 501,
  OperationAborted: 409,
  PreconditionFailed: 412,
  RequestTimeTooSkewed: 403,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  XAmzContentSHA256Mismatch: 400,
  // Coffer-specific refusals, in S3 style.
  ObjectImmutable: 409,
  KeyConflict: 409,
  MetadataTooLarge: 400,
  InvalidManifest: 400,
  InvalidIndex: 400,
} as const;

/** One of {@link S3_ERRORS}' codes. */
export type S3ErrorCode = keyof typeof S3_ERRORS;

/** An S3-level refusal: rendered as `<Error><Code>…</Code><Message>…</Message>…</Error>`. */
export class S3Error extends Error {
  override readonly name = "S3Error";
  readonly status: number;
  constructor(
    readonly code: S3ErrorCode,
    message: string,
    readonly extra: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = S3_ERRORS[code];
  }
}

/** Maps any thrown value to an S3 error (CofferErrors by code; the rest → InternalError). */
export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  if (isSigV4Error(err)) {
    const code: S3ErrorCode = err.s3Code in S3_ERRORS ? err.s3Code : "InvalidRequest";
    return new S3Error(code, err.message, {}, { cause: err });
  }
  if (isCofferError(err)) {
    switch (err.code) {
      case "BAD_INPUT":
        return new S3Error("InvalidArgument", err.message, {}, { cause: err });
      case "NOT_FOUND":
        return new S3Error("NoSuchKey", err.message, {}, { cause: err });
      case "AUTH":
        return new S3Error("SignatureDoesNotMatch", err.message, {}, { cause: err });
      case "FORBIDDEN":
      case "PERMISSION_DENIED":
        return new S3Error("AccessDenied", err.message, {}, { cause: err });
      case "CONFLICT":
      case "ALREADY_EXISTS":
        return new S3Error("ObjectImmutable", err.message, {}, { cause: err });
      case "PRECONDITION_FAILED":
        return new S3Error("PreconditionFailed", err.message, {}, { cause: err });
      case "NO_SPACE":
        return new S3Error("ServiceUnavailable", err.message, {}, { cause: err });
      default:
        return new S3Error(
          "InternalError",
          "We encountered an internal error. Please try again.",
          {},
          { cause: err },
        );
    }
  }
  return new S3Error(
    "InternalError",
    "We encountered an internal error. Please try again.",
    {},
    { cause: err },
  );
}
