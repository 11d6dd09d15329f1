import { createHash, type Hash } from "node:crypto";
import { algorithmOfHeader, createChecksum, type Checksum } from "./checksum.ts";
import { SigV4Error } from "./errors.ts";
import {
  chunkStringToSign,
  sha256Hex,
  signature,
  signaturesEqual,
  trailerStringToSign,
  type Scope,
} from "./signing.ts";

/** Signing context of an aws-chunked upload: from a verified request. */
export interface ChunkSigning {
  readonly signingKey: Uint8Array;
  readonly amzDate: string;
  readonly scope: Scope;
  readonly seedSignature: string;
}

/** Options of {@link AwsChunkedDecoder}. */
export interface ChunkedDecoderOptions {
  readonly mode: "streaming-signed" | "streaming-unsigned-trailer" | "streaming-signed-trailer";
  /** Required for the signed modes. */
  readonly signing?: ChunkSigning;
  /** Lower-case trailer names declared in `x-amz-trailer`; only these may appear. */
  readonly declaredTrailers?: readonly string[];
  /** `x-amz-decoded-content-length`, checked at {@link AwsChunkedDecoder.end}. */
  readonly decodedContentLength?: number;
  /** Largest accepted chunk; default 64 MiB. */
  readonly maxChunkSize?: number;
}

/** What {@link AwsChunkedDecoder.end} reports. */
export interface ChunkedDecodeResult {
  readonly decodedLength: number;
  /** Trailers received (lower-case names, excluding `x-amz-trailer-signature`). */
  readonly trailers: ReadonlyMap<string, string>;
  /** Verified trailer checksums, base64, by header name (e.g. `x-amz-checksum-crc32`). */
  readonly checksums: ReadonlyMap<string, string>;
}

const MAX_LINE = 4096;
const MAX_TRAILERS = 16;
const CR = 0x0d;
const LF = 0x0a;

type State = "size" | "data" | "data-crlf" | "final" | "trailer" | "done" | "failed";

/**
 * Incremental, push-based aws-chunked decoder. Memory is bounded (one header line, at most
 * 4 KiB) whatever the chunk sizes or how the input is split. {@link push} returns decoded
 * payload slices (views into the input) as soon as they arrive; chunk signatures are checked
 * at the end of each chunk, so **nothing may be committed until {@link end} returns**.
 * Errors are {@link SigV4Error}s: `SignatureDoesNotMatch`, `InvalidChunkSizeError`,
 * `IncompleteBody`, `MalformedTrailerError`, `BadDigest`, `InvalidRequest`.
 */
export class AwsChunkedDecoder {
  private state: State = "size";
  private line: number[] = [];
  private remaining = 0;
  private crlfSeen = 0;
  private chunkHash: Hash | undefined;
  private prevSignature: string;
  private expectedChunkSignature = "";
  private decoded = 0;
  private readonly trailers = new Map<string, string>();
  private trailerSignature: string | undefined;
  private trailerCanonical = "";
  private readonly checksums = new Map<string, Checksum>();
  private readonly signed: boolean;
  private readonly trailerMode: boolean;
  private readonly maxChunk: number;

  constructor(private readonly opts: ChunkedDecoderOptions) {
    this.signed = opts.mode !== "streaming-unsigned-trailer";
    this.trailerMode = opts.mode !== "streaming-signed";
    if (this.signed && opts.signing === undefined)
      throw new TypeError("AwsChunkedDecoder: signed mode needs signing");
    this.prevSignature = opts.signing?.seedSignature ?? "";
    this.maxChunk = opts.maxChunkSize ?? 64 * 1024 * 1024;
    for (const t of opts.declaredTrailers ?? []) {
      const alg = algorithmOfHeader(t);
      if (alg !== undefined) this.checksums.set(t, createChecksum(alg));
    }
  }

  private fail(code: ConstructorParameters<typeof SigV4Error>[0], message: string): never {
    this.state = "failed";
    throw new SigV4Error(code, message);
  }

  /** Feeds raw body bytes; returns the decoded payload bytes they contained. */
  push(data: Uint8Array): Uint8Array[] {
    if (this.state === "failed")
      throw new SigV4Error("InvalidRequest", "aws-chunked decoder already failed");
    const out: Uint8Array[] = [];
    let i = 0;
    while (i < data.length) {
      switch (this.state) {
        case "data": {
          const n = Math.min(this.remaining, data.length - i);
          const slice = data.subarray(i, i + n);
          this.chunkHash?.update(slice);
          for (const c of this.checksums.values()) c.update(slice);
          out.push(slice);
          this.decoded += n;
          if (
            this.opts.decodedContentLength !== undefined &&
            this.decoded > this.opts.decodedContentLength
          ) {
            this.fail(
              "InvalidRequest",
              `aws-chunked body is longer than x-amz-decoded-content-length ${this.opts.decodedContentLength}`,
            );
          }
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) {
            this.state = "data-crlf";
            this.crlfSeen = 0;
          }
          break;
        }
        case "data-crlf": {
          const b = data[i++]!;
          if (b !== (this.crlfSeen === 0 ? CR : LF))
            this.fail("InvalidChunkSizeError", "aws-chunked chunk data is not followed by CRLF");
          if (++this.crlfSeen === 2) {
            this.finishDataChunk();
            this.state = "size";
          }
          break;
        }
        case "done":
          this.fail("InvalidRequest", "aws-chunked body has data after the final chunk");
          break;
        default: {
          const b = data[i++]!;
          if (b === LF) {
            const len = this.line.length;
            if (len === 0 || this.line[len - 1] !== CR)
              this.fail("InvalidChunkSizeError", "aws-chunked line does not end with CRLF");
            const text = Buffer.from(this.line.slice(0, len - 1)).toString("latin1");
            this.line = [];
            this.onLine(text);
          } else {
            if (this.line.length >= MAX_LINE)
              this.fail("InvalidChunkSizeError", "aws-chunked header line is too long");
            this.line.push(b);
          }
        }
      }
    }
    return out;
  }

  private onLine(text: string): void {
    switch (this.state) {
      case "size":
        this.onSizeLine(text);
        return;
      case "final":
        if (text !== "")
          this.fail(
            "InvalidChunkSizeError",
            "aws-chunked final chunk is not followed by an empty line",
          );
        this.state = "done";
        return;
      case "trailer":
        this.onTrailerLine(text);
        return;
      default:
        return;
    }
  }

  private onSizeLine(text: string): void {
    const semi = text.indexOf(";");
    const sizeHex = semi < 0 ? text : text.slice(0, semi);
    const ext = semi < 0 ? "" : text.slice(semi + 1);
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeHex))
      this.fail(
        "InvalidChunkSizeError",
        `aws-chunked chunk size '${sizeHex.slice(0, 32)}' is not hex`,
      );
    const size = parseInt(sizeHex, 16);
    if (size > this.maxChunk)
      this.fail(
        "InvalidChunkSizeError",
        `aws-chunked chunk of ${size} bytes exceeds the ${this.maxChunk}-byte limit`,
      );
    if (this.signed) {
      const m = /^chunk-signature=([0-9a-f]{64})$/.exec(ext);
      if (!m)
        this.fail(
          "InvalidChunkSizeError",
          "aws-chunked chunk header lacks a valid chunk-signature",
        );
      this.expectedChunkSignature = m[1]!;
      this.chunkHash = createHash("sha256");
    } else if (ext !== "" && !ext.startsWith("chunk-")) {
      this.fail("InvalidChunkSizeError", "aws-chunked chunk header has an unexpected extension");
    }
    if (size === 0) {
      this.finishDataChunk();
      this.state = this.trailerMode ? "trailer" : "final";
    } else {
      this.remaining = size;
      this.state = "data";
    }
  }

  private finishDataChunk(): void {
    if (!this.signed) return;
    const s = this.opts.signing!;
    const hash = this.chunkHash!.digest("hex");
    this.chunkHash = undefined;
    const expected = signature(
      s.signingKey,
      chunkStringToSign(s.amzDate, s.scope, this.prevSignature, hash),
    );
    if (!signaturesEqual(expected, this.expectedChunkSignature)) {
      this.fail(
        "SignatureDoesNotMatch",
        `aws-chunked chunk signature does not match after ${this.decoded} decoded bytes`,
      );
    }
    this.prevSignature = expected;
  }

  private onTrailerLine(text: string): void {
    if (text === "") {
      if (this.opts.mode === "streaming-signed-trailer") this.verifyTrailerSignature();
      this.state = "done";
      return;
    }
    if (this.trailerSignature !== undefined)
      this.fail("MalformedTrailerError", "aws-chunked trailer after x-amz-trailer-signature");
    const colon = text.indexOf(":");
    if (colon <= 0)
      this.fail("MalformedTrailerError", "aws-chunked trailer line is not 'name:value'");
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === "x-amz-trailer-signature") {
      if (this.opts.mode !== "streaming-signed-trailer")
        this.fail("MalformedTrailerError", "x-amz-trailer-signature in an unsigned upload");
      this.trailerSignature = value;
      return;
    }
    if (!(this.opts.declaredTrailers ?? []).includes(name))
      this.fail(
        "MalformedTrailerError",
        `aws-chunked trailer '${name}' was not declared in x-amz-trailer`,
      );
    if (this.trailers.has(name))
      this.fail("MalformedTrailerError", `aws-chunked trailer '${name}' is repeated`);
    if (this.trailers.size >= MAX_TRAILERS)
      this.fail("MalformedTrailerError", "too many aws-chunked trailers");
    this.trailers.set(name, value);
    this.trailerCanonical += `${name}:${value}\n`;
  }

  private verifyTrailerSignature(): void {
    if (this.trailerSignature === undefined)
      this.fail("MalformedTrailerError", "aws-chunked upload lacks x-amz-trailer-signature");
    const s = this.opts.signing!;
    const expected = signature(
      s.signingKey,
      trailerStringToSign(s.amzDate, s.scope, this.prevSignature, sha256Hex(this.trailerCanonical)),
    );
    if (!signaturesEqual(expected, this.trailerSignature))
      this.fail("SignatureDoesNotMatch", "aws-chunked trailer signature does not match");
  }

  /** Call at end of input: throws unless the body was complete, signed and intact. */
  end(): ChunkedDecodeResult {
    if (this.state === "failed")
      throw new SigV4Error("InvalidRequest", "aws-chunked decoder already failed");
    if (this.state !== "done") {
      this.fail(
        "IncompleteBody",
        `aws-chunked body ended after ${this.decoded} bytes without its final chunk`,
      );
    }
    const want = this.opts.decodedContentLength;
    if (want !== undefined && want !== this.decoded) {
      this.fail(
        "IncompleteBody",
        `aws-chunked body decoded to ${this.decoded} bytes, x-amz-decoded-content-length says ${want}`,
      );
    }
    const verified = new Map<string, string>();
    for (const [name, c] of this.checksums) {
      const got = this.trailers.get(name);
      if (got === undefined)
        this.fail(
          "MalformedTrailerError",
          `aws-chunked upload declared trailer ${name} but did not send it`,
        );
      const actual = c.digest().toString("base64");
      if (got !== actual)
        this.fail("BadDigest", `The ${name} you specified did not match the calculated checksum`);
      verified.set(name, actual);
    }
    for (const name of this.opts.declaredTrailers ?? []) {
      if (!this.trailers.has(name))
        this.fail(
          "MalformedTrailerError",
          `aws-chunked upload declared trailer ${name} but did not send it`,
        );
    }
    return { decodedLength: this.decoded, trailers: this.trailers, checksums: verified };
  }
}
