import { createHash, type Hash } from "node:crypto";
import {
  algorithmOfHeader,
  checksumHeaderName,
  createChecksum,
  digestLength,
  parseChecksumAlgorithm,
  type Checksum,
} from "./checksum.ts";
import { AwsChunkedDecoder, type ChunkSigning } from "./chunked-decoder.ts";
import { SigV4Error } from "./errors.ts";
import { headerValue, type HeaderMap } from "./headers.ts";
import type { PayloadMode } from "./payload-mode.ts";

/** The fields of a verified request the body check needs (a `VerifySuccess` fits). */
export interface BodyAuth extends ChunkSigning {
  readonly payloadMode: PayloadMode;
  readonly declaredSha256?: string;
}

/** Options of {@link createBodyVerifier}. */
export interface BodyVerifierOptions {
  /** Largest aws-chunked chunk; default 64 MiB. */
  readonly maxChunkSize?: number;
}

/** What a complete, verified body was. */
export interface BodyResult {
  /** Decoded payload length. */
  readonly length: number;
  /** Verified checksums, base64, by header name (`x-amz-checksum-crc32`, ...), header or trailer. */
  readonly checksums: ReadonlyMap<string, string>;
  /** Trailers of an aws-chunked upload (lower-case names). */
  readonly trailers: ReadonlyMap<string, string>;
}

/** Push-based body check; see {@link createBodyVerifier}. */
export interface BodyVerifier {
  /** Feeds raw body bytes; returns decoded payload bytes (views of the input). */
  push(data: Uint8Array): Uint8Array[];
  /** At end of input: throws a {@link SigV4Error} unless the body is complete and intact. */
  end(): BodyResult;
}

function headerChecksums(headers: HeaderMap): Map<string, { expected: string; c: Checksum }> {
  const out = new Map<string, { expected: string; c: Checksum }>();
  for (const name of Object.keys(headers)) {
    const alg = algorithmOfHeader(name);
    if (alg === undefined) continue;
    const expected = headerValue(headers, name)?.trim() ?? "";
    const raw = Buffer.from(expected, "base64");
    if (raw.length !== digestLength(alg) || raw.toString("base64") !== expected) {
      throw new SigV4Error("InvalidRequest", `Value for ${name} header is invalid`);
    }
    out.set(name, { expected, c: createChecksum(alg) });
  }
  if (out.size > 1)
    throw new SigV4Error(
      "InvalidRequest",
      "Expecting a single x-amz-checksum- header; multiple checksum types are not allowed",
    );
  return out;
}

/**
 * Verifies a request body against what a verified request declared, whatever its payload
 * mode: `hex` (SHA-256 must match, `XAmzContentSHA256Mismatch`), `unsigned`, and the
 * aws-chunked modes (see {@link AwsChunkedDecoder}). Also checks `Content-MD5`
 * (`BadDigest`/`InvalidDigest`) and `x-amz-checksum-*` headers (`BadDigest`). Throws a
 * {@link SigV4Error} for inconsistent headers (e.g. a bad `x-amz-decoded-content-length`).
 */
export function createBodyVerifier(
  auth: BodyAuth,
  headers: HeaderMap,
  opts: BodyVerifierOptions = {},
): BodyVerifier {
  const sums = headerChecksums(headers);
  const md5Header = headerValue(headers, "content-md5")?.trim();
  let md5: Hash | undefined;
  if (md5Header !== undefined) {
    if (Buffer.from(md5Header, "base64").length !== 16)
      throw new SigV4Error("InvalidDigest", "The Content-MD5 you specified is not valid");
    md5 = createHash("md5");
  }
  const sha = auth.payloadMode === "hex" ? createHash("sha256") : undefined;
  let decoder: AwsChunkedDecoder | undefined;
  if (auth.payloadMode !== "hex" && auth.payloadMode !== "unsigned") {
    const dcl = headerValue(headers, "x-amz-decoded-content-length");
    if (dcl === undefined)
      throw new SigV4Error(
        "InvalidRequest",
        "aws-chunked uploads require x-amz-decoded-content-length",
      );
    if (!/^\d{1,15}$/.test(dcl.trim()))
      throw new SigV4Error("InvalidRequest", "x-amz-decoded-content-length is not a number");
    const trailerHeader = headerValue(headers, "x-amz-trailer");
    const declared = (trailerHeader ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s !== "");
    for (const t of declared) {
      if (algorithmOfHeader(t) === undefined)
        throw new SigV4Error("InvalidRequest", `Unsupported trailer '${t}' in x-amz-trailer`);
    }
    if (declared.length > 0 && auth.payloadMode === "streaming-signed") {
      throw new SigV4Error(
        "InvalidRequest",
        "x-amz-trailer needs a ...-TRAILER x-amz-content-sha256 mode",
      );
    }
    decoder = new AwsChunkedDecoder({
      mode: auth.payloadMode,
      signing: auth,
      declaredTrailers: declared,
      decodedContentLength: Number(dcl.trim()),
      ...(opts.maxChunkSize !== undefined ? { maxChunkSize: opts.maxChunkSize } : {}),
    });
  }
  const sdkAlg = headerValue(headers, "x-amz-sdk-checksum-algorithm");
  if (sdkAlg !== undefined) {
    const alg = parseChecksumAlgorithm(sdkAlg);
    if (alg === undefined)
      throw new SigV4Error(
        "InvalidRequest",
        `Value for x-amz-sdk-checksum-algorithm header is invalid: '${sdkAlg.slice(0, 40)}'`,
      );
    const name = checksumHeaderName(alg);
    const trailer = (headerValue(headers, "x-amz-trailer") ?? "")
      .toLowerCase()
      .split(",")
      .map((t) => t.trim());
    if (!sums.has(name) && !trailer.includes(name)) {
      throw new SigV4Error(
        "InvalidRequest",
        `x-amz-sdk-checksum-algorithm specified, but no corresponding ${name} header or trailer was found`,
      );
    }
  }
  let length = 0;
  const feed = (d: Uint8Array): void => {
    length += d.length;
    sha?.update(d);
    md5?.update(d);
    for (const s of sums.values()) s.c.update(d);
  };
  return {
    push(data: Uint8Array): Uint8Array[] {
      const out = decoder ? decoder.push(data) : [data];
      for (const d of out) feed(d);
      return out;
    },
    end(): BodyResult {
      const chunked = decoder?.end();
      if (sha && sha.digest("hex") !== auth.declaredSha256) {
        throw new SigV4Error(
          "XAmzContentSHA256Mismatch",
          "The provided 'x-amz-content-sha256' header does not match what was computed",
        );
      }
      if (md5 && md5.digest("base64") !== md5Header)
        throw new SigV4Error(
          "BadDigest",
          "The Content-MD5 you specified did not match what we received",
        );
      const checksums = new Map(chunked?.checksums ?? []);
      for (const [name, s] of sums) {
        const actual = s.c.digest().toString("base64");
        if (actual !== s.expected)
          throw new SigV4Error(
            "BadDigest",
            `The ${name} you specified did not match the calculated checksum`,
          );
        checksums.set(name, actual);
      }
      return { length, checksums, trailers: chunked?.trailers ?? new Map<string, string>() };
    },
  };
}
