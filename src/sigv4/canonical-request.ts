import { canonicalQuery } from "./canonical-query.ts";
import { canonicalUri } from "./canonical-uri.ts";
import { headerValues, trimHeaderValue, type HeaderMap } from "./headers.ts";

/** The parts of a request that SigV4 signs. */
export interface CanonicalInput {
  /** HTTP method, e.g. `PUT` (upper-cased here). */
  readonly method: string;
  /** Raw path as sent on the wire, without the query. */
  readonly path: string;
  /** Raw query string without `?` (may be empty). */
  readonly query: string;
  /** Lower-case header names to value(s). */
  readonly headers: HeaderMap;
  /** Lower-case names of the signed headers (any order). */
  readonly signedHeaders: readonly string[];
  /** The payload hash line: 64 hex, `UNSIGNED-PAYLOAD` or a `STREAMING-...` value. */
  readonly payloadHash: string;
  /** Decoded query parameter names left out of the canonical query (`X-Amz-Signature`). */
  readonly excludeQuery?: readonly string[];
}

/** Sorted, de-duplicated, lower-case signed header names. */
export function normalizeSignedHeaders(names: readonly string[]): string[] {
  return [...new Set(names.map((n) => n.toLowerCase()))].sort();
}

/**
 * Canonical headers block: `name:value\n` per signed header in sorted order; a header that
 * occurs several times has its trimmed values joined with `,` in wire order.
 */
export function canonicalHeaders(headers: HeaderMap, signedHeaders: readonly string[]): string {
  let out = "";
  for (const name of normalizeSignedHeaders(signedHeaders)) {
    const values = headerValues(headers, name).map(trimHeaderValue);
    out += `${name}:${values.join(",")}\n`;
  }
  return out;
}

/**
 * The SigV4 canonical request:
 * `method \n uri \n query \n headers \n signedHeaders \n payloadHash`, with S3's path rules
 * (see {@link canonicalUri}).
 */
export function canonicalRequest(input: CanonicalInput): string {
  const signed = normalizeSignedHeaders(input.signedHeaders);
  return [
    input.method.toUpperCase(),
    canonicalUri(input.path),
    canonicalQuery(input.query, input.excludeQuery ?? []),
    canonicalHeaders(input.headers, signed),
    signed.join(";"),
    input.payloadHash,
  ].join("\n");
}
