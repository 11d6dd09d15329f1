import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** SHA-256 of the empty string, hex. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** The credential scope `date/region/service/aws4_request`. */
export interface Scope {
  /** `YYYYMMDD`. */
  readonly date: string;
  readonly region: string;
  readonly service: string;
}

/** `date/region/service/aws4_request`. */
export function scopeString(scope: Scope): string {
  return `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
}

/** Hex SHA-256 of `data`. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** HMAC-SHA256. */
export function hmacSha256(key: Uint8Array | string, data: string | Uint8Array): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

/**
 * The SigV4 signing key:
 * `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
 */
export function deriveSigningKey(secret: string, scope: Scope): Buffer {
  const kDate = hmacSha256("AWS4" + secret, scope.date);
  const kRegion = hmacSha256(kDate, scope.region);
  const kService = hmacSha256(kRegion, scope.service);
  return hmacSha256(kService, "aws4_request");
}

/** `AWS4-HMAC-SHA256 \n amzDate \n scope \n hex(sha256(canonicalRequest))`. */
export function stringToSign(amzDate: string, scope: Scope, canonicalRequest: string): string {
  return ["AWS4-HMAC-SHA256", amzDate, scopeString(scope), sha256Hex(canonicalRequest)].join("\n");
}

/**
 * String to sign for one aws-chunked data chunk:
 * `AWS4-HMAC-SHA256-PAYLOAD \n amzDate \n scope \n previousSignature \n sha256("") \n chunkHash`.
 */
export function chunkStringToSign(
  amzDate: string,
  scope: Scope,
  previousSignature: string,
  chunkSha256Hex: string,
): string {
  return [
    "AWS4-HMAC-SHA256-PAYLOAD",
    amzDate,
    scopeString(scope),
    previousSignature,
    EMPTY_SHA256,
    chunkSha256Hex,
  ].join("\n");
}

/**
 * String to sign for the trailer block of a signed aws-chunked upload:
 * `AWS4-HMAC-SHA256-TRAILER \n amzDate \n scope \n previousSignature \n sha256(trailers)` where
 * `trailers` is `name:value\n` per trailer.
 */
export function trailerStringToSign(
  amzDate: string,
  scope: Scope,
  previousSignature: string,
  trailersSha256Hex: string,
): string {
  return [
    "AWS4-HMAC-SHA256-TRAILER",
    amzDate,
    scopeString(scope),
    previousSignature,
    trailersSha256Hex,
  ].join("\n");
}

/** Hex HMAC-SHA256 of `stringToSign` under `signingKey`. */
export function signature(signingKey: Uint8Array, stringToSign: string): string {
  return hmacSha256(signingKey, stringToSign).toString("hex");
}

/** Constant-time comparison of two signature strings (length leaks, content does not). */
export function signaturesEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, "utf8");
  const bb = Buffer.from(b, "utf8");
  if (ba.length !== bb.length) {
    timingSafeEqual(ba, ba);
    return false;
  }
  return timingSafeEqual(ba, bb);
}
