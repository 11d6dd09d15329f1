import { formatAmzDate, parseAmzDate, parseHttpDate } from "./amz-date.ts";
import { parseAuthorizationHeader, parsePresignedQuery, type ParsedAuth } from "./authorization.ts";
import { canonicalRequest } from "./canonical-request.ts";
import { queryMap } from "./canonical-query.ts";
import type { SigV4ErrorCode } from "./errors.ts";
import { headerValue, type HeaderMap } from "./headers.ts";
import { payloadModeOf, PAYLOAD_VALUES, type PayloadMode } from "./payload-mode.ts";
import {
  deriveSigningKey,
  signature,
  signaturesEqual,
  stringToSign,
  type Scope,
  scopeString,
} from "./signing.ts";

/** The request as received by the gateway. */
export interface IncomingRequest {
  readonly method: string;
  /** Raw path exactly as on the request line, without the query. */
  readonly path: string;
  /** Raw query string without `?` ("" when none). */
  readonly query: string;
  /** Lower-case names; pass Node's `req.headersDistinct` so repeated headers keep every value. */
  readonly headers: HeaderMap;
}

/** What `lookupSecret` returns for a known access key. Extra fields are passed through. */
export interface SecretRecord {
  readonly secret: string;
  /** Set only for temporary credentials: the request must carry this `x-amz-security-token`. */
  readonly sessionToken?: string;
}

/** Options for {@link verifyRequest}. */
export interface VerifyOptions {
  /** When set, the credential scope must name this region. */
  readonly region?: string;
  /** Service in the scope; default `s3`. */
  readonly service?: string;
  /** Allowed clock difference for header auth (and early presigned use); default 15 min. */
  readonly maxSkewMs?: number;
  /** Refuse present-but-unsigned `x-amz-*` headers, as S3 does; default true. */
  readonly requireSignedAmzHeaders?: boolean;
}

/** A verified request. */
export interface VerifySuccess<C extends SecretRecord> {
  readonly ok: true;
  readonly authType: "header" | "presigned";
  readonly accessKeyId: string;
  readonly credential: C;
  readonly payloadMode: PayloadMode;
  /** The hex SHA-256 the client declared (payloadMode `hex`); the body must hash to it. */
  readonly declaredSha256?: string;
  /** The request signature; the first chunk of an aws-chunked body chains from it. */
  readonly seedSignature: string;
  readonly signingKey: Buffer;
  readonly scope: Scope;
  /** `YYYYMMDDTHHMMSSZ` the request was signed at. */
  readonly amzDate: string;
  /** {@link amzDate} in epoch ms. */
  readonly requestTime: number;
  readonly signedHeaders: readonly string[];
}

/** A refused request: an S3 error code and a one-line message. */
export interface VerifyFailure {
  readonly ok: false;
  readonly code: SigV4ErrorCode;
  readonly message: string;
}

/** Result of {@link verifyRequest}. */
export type VerifyResult<C extends SecretRecord> = VerifySuccess<C> | VerifyFailure;

/** Largest `X-Amz-Expires`: 7 days. */
export const MAX_PRESIGNED_EXPIRES_SECONDS = 604800;
const DEFAULT_SKEW_MS = 15 * 60 * 1000;

function fail(code: SigV4ErrorCode, message: string): VerifyFailure {
  return { ok: false, code, message };
}

function checkScope(
  auth: ParsedAuth,
  amzDate: string,
  opts: VerifyOptions,
  malformed: SigV4ErrorCode,
): VerifyFailure | undefined {
  if (auth.scope.date !== amzDate.slice(0, 8)) {
    return fail(
      malformed,
      `Invalid credential date '${auth.scope.date}': it is not the date of ${amzDate}`,
    );
  }
  if (opts.region !== undefined && auth.scope.region !== opts.region) {
    return fail(
      malformed,
      `The authorization region '${auth.scope.region}' is wrong; expecting '${opts.region}'`,
    );
  }
  const service = opts.service ?? "s3";
  if (auth.scope.service !== service) {
    return fail(
      malformed,
      `The authorization service '${auth.scope.service}' is wrong; expecting '${service}'`,
    );
  }
  if (!auth.signedHeaders.includes("host"))
    return fail(malformed, "SignedHeaders must include host");
  return undefined;
}

function unsignedAmzHeaders(headers: HeaderMap, signed: readonly string[]): string[] {
  return Object.keys(headers).filter(
    (h) => h.startsWith("x-amz-") && headers[h] !== undefined && !signed.includes(h),
  );
}

/**
 * Verifies a SigV4-signed S3 request: `Authorization` header auth or a presigned URL.
 * Pure: the time is the `now` argument (epoch ms). Never throws for bad input; every refusal
 * is a {@link VerifyFailure} with S3's error code. The body is *not* checked here: feed it
 * through {@link createBodyVerifier} with the returned success.
 */
export function verifyRequest<C extends SecretRecord>(
  req: IncomingRequest,
  lookupSecret: (accessKeyId: string) => C | undefined,
  now: number,
  opts: VerifyOptions = {},
): VerifyResult<C> {
  const authz = headerValue(req.headers, "authorization");
  const q = queryMap(req.query);
  const presigned =
    q.has("X-Amz-Algorithm") || q.has("X-Amz-Signature") || q.has("X-Amz-Credential");
  if (authz !== undefined && presigned)
    return fail(
      "InvalidArgument",
      "Only one auth mechanism allowed: Authorization header or X-Amz-* query",
    );
  if (authz === undefined && !presigned)
    return fail("AccessDenied", "Anonymous access is not allowed: the request is not signed");
  const skew = opts.maxSkewMs ?? DEFAULT_SKEW_MS;

  let auth: ParsedAuth;
  let amzDate: string;
  let requestTime: number;
  let payloadHash: string;
  if (authz !== undefined) {
    if (authz.startsWith("AWS "))
      return fail("InvalidRequest", "Signature Version 2 is not supported; use AWS4-HMAC-SHA256");
    const parsed = parseAuthorizationHeader(authz);
    if (!parsed.ok)
      return fail(
        "AuthorizationHeaderMalformed",
        `Malformed Authorization header: ${parsed.message}`,
      );
    auth = parsed.auth;
    const xAmzDate = headerValue(req.headers, "x-amz-date");
    const date = headerValue(req.headers, "date");
    const t =
      xAmzDate !== undefined
        ? parseAmzDate(xAmzDate)
        : date !== undefined
          ? parseHttpDate(date)
          : undefined;
    if (t === undefined)
      return fail("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
    requestTime = t;
    amzDate = xAmzDate ?? formatAmzDate(t);
    const bad = checkScope(auth, amzDate, opts, "AuthorizationHeaderMalformed");
    if (bad) return bad;
    const sha = headerValue(req.headers, "x-amz-content-sha256");
    if (sha === undefined)
      return fail(
        "InvalidRequest",
        "Missing required header for this request: x-amz-content-sha256",
      );
    payloadHash = sha;
  } else {
    const parsed = parsePresignedQuery(q);
    if (!parsed.ok)
      return fail(
        "AuthorizationQueryParametersError",
        `Malformed presigned URL: ${parsed.message}`,
      );
    auth = parsed.auth;
    const xd = q.get("X-Amz-Date") ?? "";
    const t = parseAmzDate(xd);
    if (t === undefined)
      return fail(
        "AuthorizationQueryParametersError",
        "X-Amz-Date must be in the ISO8601 basic format YYYYMMDDTHHMMSSZ",
      );
    requestTime = t;
    amzDate = xd;
    const expStr = q.get("X-Amz-Expires") ?? "";
    if (!/^\d{1,7}$/.test(expStr))
      return fail(
        "AuthorizationQueryParametersError",
        "X-Amz-Expires must be a non-negative integer",
      );
    const expires = Number(expStr);
    if (expires > MAX_PRESIGNED_EXPIRES_SECONDS) {
      return fail(
        "AuthorizationQueryParametersError",
        "X-Amz-Expires must be less than a week (in seconds) that is 604800",
      );
    }
    const bad = checkScope(auth, amzDate, opts, "AuthorizationQueryParametersError");
    if (bad) return bad;
    if (now < requestTime - skew)
      return fail("AccessDenied", `Request is not valid yet: it is signed for ${amzDate}`);
    if (now > requestTime + expires * 1000)
      return fail(
        "AccessDenied",
        `Request has expired: signed at ${amzDate}, valid for ${expStr} seconds`,
      );
    payloadHash = q.get("X-Amz-Content-Sha256") ?? PAYLOAD_VALUES.UNSIGNED;
  }

  const payloadMode = payloadModeOf(payloadHash);
  if (payloadMode === undefined)
    return fail(
      "InvalidArgument",
      `Unsupported x-amz-content-sha256 value '${payloadHash.slice(0, 80)}'`,
    );
  if (authz === undefined && payloadMode !== "hex" && payloadMode !== "unsigned") {
    return fail("InvalidArgument", "Presigned URLs cannot carry aws-chunked payloads");
  }
  if (opts.requireSignedAmzHeaders ?? true) {
    const unsigned = unsignedAmzHeaders(req.headers, auth.signedHeaders);
    if (unsigned.length > 0)
      return fail(
        "AccessDenied",
        `There were headers present in the request which were not signed: ${unsigned.join(", ")}`,
      );
  }

  const credential = lookupSecret(auth.accessKeyId);
  if (credential === undefined)
    return fail(
      "InvalidAccessKeyId",
      `The AWS Access Key Id '${auth.accessKeyId}' does not exist in our records`,
    );
  const token = headerValue(req.headers, "x-amz-security-token") ?? q.get("X-Amz-Security-Token");
  if (token !== undefined || credential.sessionToken !== undefined) {
    if (
      token === undefined ||
      credential.sessionToken === undefined ||
      !signaturesEqual(token, credential.sessionToken)
    ) {
      return fail(
        "InvalidToken",
        "The provided security token is missing, malformed or not valid for this key",
      );
    }
  }
  if (authz !== undefined && Math.abs(now - requestTime) > skew) {
    return fail(
      "RequestTimeTooSkewed",
      `The difference between the request time ${amzDate} and the server time ${formatAmzDate(now)} is too large`,
    );
  }

  const creq = canonicalRequest({
    method: req.method,
    path: req.path,
    query: req.query,
    headers: req.headers,
    signedHeaders: auth.signedHeaders,
    payloadHash,
    excludeQuery: authz === undefined ? ["X-Amz-Signature"] : [],
  });
  const signingKey = deriveSigningKey(credential.secret, auth.scope);
  const expected = signature(signingKey, stringToSign(amzDate, auth.scope, creq));
  if (!signaturesEqual(expected, auth.signature)) {
    return fail(
      "SignatureDoesNotMatch",
      `The request signature does not match for key ${auth.accessKeyId} and scope ${scopeString(auth.scope)}`,
    );
  }
  return {
    ok: true,
    authType: authz === undefined ? "presigned" : "header",
    accessKeyId: auth.accessKeyId,
    credential,
    payloadMode,
    ...(payloadMode === "hex" ? { declaredSha256: payloadHash } : {}),
    seedSignature: expected,
    signingKey,
    scope: auth.scope,
    amzDate,
    requestTime,
    signedHeaders: auth.signedHeaders,
  };
}
