import { CofferError } from "../core/errors.ts";

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

/** The HTTP status of an AWS SDK error, when the server answered at all. */
export function s3Status(err: unknown): number | undefined {
  return (err as SdkErrorShape | null)?.$metadata?.httpStatusCode;
}

const AUTH_ERRORS: Record<string, string> = {
  InvalidAccessKeyId: "unknown access key (check AWS_ACCESS_KEY_ID)",
  SignatureDoesNotMatch: "signature does not match (check AWS_SECRET_ACCESS_KEY)",
  RequestTimeTooSkewed: "this machine's clock is too far from the server's",
  ExpiredToken: "session token expired (AWS_SESSION_TOKEN)",
  InvalidToken: "invalid session token (AWS_SESSION_TOKEN)",
  AuthorizationHeaderMalformed: "authorization header malformed (check AWS_DEFAULT_REGION)",
};

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by the server",
  EPIPE: "connection closed by the server",
  ETIMEDOUT: "connection timed out",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  ENETUNREACH: "network unreachable",
  EHOSTUNREACH: "host unreachable",
  ECONNABORTED: "connection aborted",
};

const TLS_ERRORS = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

function firstLine(s: string): string {
  return s.split("\n")[0]!.trim();
}

/** The innermost `code` of an error chain (the SDK wraps socket errors). */
function errorCode(err: unknown): string | undefined {
  for (
    let e = err as SdkErrorShape | null | undefined, i = 0;
    e && i < 5;
    e = e.cause as SdkErrorShape, i++
  ) {
    if (typeof e.code === "string") return e.code;
  }
  return undefined;
}

/**
 * Turns an AWS SDK v3 error into a one-line `CofferError` prefixed with `what`, e.g.
 * `Cannot read config in s3:https://gw:8443/web-01: access denied`.
 */
export function describeS3Error(err: unknown, what: string, bucket: string): CofferError {
  if (err instanceof CofferError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const name = typeof e.name === "string" ? e.name : "Error";
  const message = typeof e.message === "string" ? firstLine(e.message) : String(err);
  const status = s3Status(err);
  const make = (code: ConstructorParameters<typeof CofferError>[0], why: string): CofferError =>
    new CofferError(code, `${what}: ${why}`, { cause: err });

  const auth = AUTH_ERRORS[name];
  if (auth !== undefined) return make("AUTH", auth);
  if (name === "NoSuchBucket") return make("NOT_FOUND", `bucket ${bucket} does not exist`);
  if (status === 403) return make("PERMISSION_DENIED", "access denied");
  if (status === 404) return make("NOT_FOUND", "not found");
  if (status === 507 || name === "QuotaExceeded" || name === "InsufficientStorage") {
    return make("NO_SPACE", "no space left on the server");
  }
  if (status !== undefined && status >= 500) {
    return make("IO", `server error ${status} (${name}) after retries`);
  }
  if (status !== undefined) return make("IO", `S3 error ${status} (${name}): ${message}`);

  const code = errorCode(err);
  if (code === "ERR_TLS_FINGERPRINT_MISMATCH") return make("NETWORK", message);
  if (code !== undefined && TLS_ERRORS.has(code)) {
    return make(
      "NETWORK",
      `TLS certificate not trusted (${code}); give the CA file or pin the fingerprint`,
    );
  }
  const net = code === undefined ? undefined : NETWORK_ERRORS[code];
  if (net !== undefined) return make("NETWORK", net);
  if (name === "TimeoutError") return make("NETWORK", "request timed out");
  return make("IO", message);
}
