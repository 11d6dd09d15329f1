import { checksumBase64, checksumHeaderName, type ChecksumAlgorithm } from "./checksum.ts";
import type { ChunkSigning } from "./chunked-decoder.ts";
import { chunkStringToSign, sha256Hex, signature, trailerStringToSign } from "./signing.ts";

/** Options of {@link encodeChunked}. */
export interface EncodeChunkedOptions {
  /** Payload bytes per chunk; default 64 KiB. */
  readonly chunkSize?: number;
  /** Sign chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]); omit for the unsigned trailer mode. */
  readonly signing?: ChunkSigning;
  /** Send a checksum trailer (a trailer mode). `value` overrides the computed base64 (negative tests). */
  readonly trailer?: { readonly algorithm: ChecksumAlgorithm; readonly value?: string };
}

/** The encoded body and the headers that describe it. */
export interface EncodedChunked {
  readonly body: Buffer;
  /** `x-amz-content-sha256`. */
  readonly contentSha256: string;
  /** Extra headers to send: `content-encoding`, `x-amz-decoded-content-length`, `x-amz-trailer`. */
  readonly headers: Record<string, string>;
}

/**
 * Encodes `payload` as an aws-chunked body. With `signing`, every chunk (and the trailer) is
 * signed, chaining from `signing.seedSignature` — so sign the request first with
 * `payloadHash` = {@link streamingContentSha256}. For tests and tools.
 */
export function encodeChunked(
  payload: Uint8Array,
  opts: EncodeChunkedOptions = {},
): EncodedChunked {
  const size = opts.chunkSize ?? 65536;
  if (size <= 0) throw new RangeError("encodeChunked: chunkSize must be positive");
  const s = opts.signing;
  const parts: Buffer[] = [];
  let prev = s?.seedSignature ?? "";
  const chunk = (data: Uint8Array): void => {
    let head = data.length.toString(16);
    if (s) {
      prev = signature(s.signingKey, chunkStringToSign(s.amzDate, s.scope, prev, sha256Hex(data)));
      head += `;chunk-signature=${prev}`;
    }
    parts.push(Buffer.from(head + "\r\n"));
    if (data.length > 0) parts.push(Buffer.from(data), Buffer.from("\r\n"));
  };
  for (let i = 0; i < payload.length; i += size) chunk(payload.subarray(i, i + size));
  chunk(new Uint8Array(0));
  const headers = chunkedRequestHeaders(payload.length, opts.trailer?.algorithm);
  if (opts.trailer) {
    const name = checksumHeaderName(opts.trailer.algorithm);
    const value = opts.trailer.value ?? checksumBase64(opts.trailer.algorithm, payload);
    const line = `${name}:${value}`;
    parts.push(Buffer.from(line + "\r\n"));
    if (s) {
      const sig = signature(
        s.signingKey,
        trailerStringToSign(s.amzDate, s.scope, prev, sha256Hex(line + "\n")),
      );
      parts.push(Buffer.from(`x-amz-trailer-signature:${sig}\r\n`));
    }
  }
  parts.push(Buffer.from("\r\n"));
  return {
    body: Buffer.concat(parts),
    contentSha256: streamingContentSha256(s !== undefined, opts.trailer !== undefined),
    headers,
  };
}

/** The `x-amz-content-sha256` value for an aws-chunked upload. */
export function streamingContentSha256(signed: boolean, trailer: boolean): string {
  if (!signed && !trailer)
    throw new RangeError("an aws-chunked upload is signed, has a trailer, or both");
  if (!signed) return "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
  return trailer
    ? "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    : "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
}

/**
 * The headers describing an aws-chunked body (they do not depend on the signature, so sign
 * them first): `content-encoding`, `x-amz-decoded-content-length`, and `x-amz-trailer`.
 */
export function chunkedRequestHeaders(
  decodedLength: number,
  trailer?: ChecksumAlgorithm,
): Record<string, string> {
  const h: Record<string, string> = {
    "content-encoding": "aws-chunked",
    "x-amz-decoded-content-length": String(decodedLength),
  };
  if (trailer !== undefined) h["x-amz-trailer"] = checksumHeaderName(trailer);
  return h;
}
