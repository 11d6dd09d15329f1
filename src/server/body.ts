import { createHash, type Hash } from "node:crypto";
import { type FileHandle, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { fromSystemError } from "../core/errors.ts";
import { S3Error } from "./s3/errors.ts";

/**
 * Turns the raw request body into payload bytes, verifying as it goes (aws-chunked chunk
 * signatures and trailers). `finish` throws when the body ended early or a check failed.
 */
export interface PayloadDecoder {
  update(raw: Uint8Array): Uint8Array[];
  finish(): void;
}

/** Incremental checksum of the decoded payload (x-amz-checksum-*). */
export interface Checksummer {
  readonly algorithm: string;
  update(bytes: Uint8Array): void;
  /** Base64 digest, as S3 headers carry it. */
  digest(): string;
}

/** What must be checked once the whole body is in. */
export interface BodyChecks {
  /** Decoded size promised by `Content-Length` or `x-amz-decoded-content-length`. */
  expectedLength?: number;
  /** Hex SHA-256 from `x-amz-content-sha256` (hex payload mode). */
  sha256Hex?: string;
  /** Base64 MD5 from `Content-MD5`. */
  contentMd5?: string;
  /** Header checksums (`x-amz-checksum-<alg>`): algorithm, expected base64, live hasher. */
  checksums: { expected: string; hasher: Checksummer }[];
  maxBytes: number;
}

/** A fully received, verified body in a temp file. Call `dispose` when done. */
export interface ReceivedBody {
  path: string;
  size: number;
  sha256: string;
  md5: string;
  dispose(): Promise<void>;
}

let counter = 0;

/**
 * Streams `body` through `decoder` into a temp file under `tmpDir`, hashing SHA-256 and MD5
 * (and any header checksums), then verifies everything. Nothing is left behind on failure.
 */
export async function receiveBody(
  body: AsyncIterable<Uint8Array>,
  tmpDir: string,
  decoder: PayloadDecoder | undefined,
  checks: BodyChecks,
): Promise<ReceivedBody> {
  const path = join(tmpDir, `body-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`);
  const sha = createHash("sha256");
  const md5: Hash = createHash("md5");
  let size = 0;
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, "wx", 0o600);
  } catch (err) {
    throw fromSystemError(err, `Cannot create temp file in ${tmpDir}`);
  }
  const dispose = (): Promise<void> => rm(path, { force: true });
  try {
    const file = fh;
    const write = async (bytes: Uint8Array): Promise<void> => {
      if (bytes.length === 0) return;
      size += bytes.length;
      if (size > checks.maxBytes) {
        throw new S3Error("EntityTooLarge", `Your proposed upload exceeds the maximum allowed size (${checks.maxBytes} bytes)`);
      }
      if (checks.expectedLength !== undefined && size > checks.expectedLength) {
        throw new S3Error("InvalidRequest", "The body is longer than its declared length");
      }
      sha.update(bytes);
      md5.update(bytes);
      for (const c of checks.checksums) c.hasher.update(bytes);
      let off = 0;
      while (off < bytes.length) {
        const { bytesWritten } = await file.write(bytes, off, bytes.length - off);
        off += bytesWritten;
      }
    };
    try {
      for await (const raw of body) {
        if (decoder === undefined) await write(raw);
        else for (const piece of decoder.update(raw)) await write(piece);
      }
    } catch (err) {
      if (err instanceof S3Error || (err as { s3Code?: unknown }).s3Code !== undefined) throw err;
      if ((err as { code?: string }).code === "ENOSPC") throw fromSystemError(err, "Cannot store upload");
      throw new S3Error("IncompleteBody", "The request body ended before its declared length", {}, { cause: err });
    }
    decoder?.finish();
    if (checks.expectedLength !== undefined && size !== checks.expectedLength) {
      throw new S3Error(
        "IncompleteBody",
        `You did not provide the number of bytes specified by the Content-Length HTTP header (${size} of ${checks.expectedLength})`,
      );
    }
    const shaHex = sha.digest("hex");
    const md5Buf = md5.digest();
    if (checks.sha256Hex !== undefined && checks.sha256Hex !== shaHex) {
      throw new S3Error("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.", {
        ClientComputedContentSHA256: checks.sha256Hex,
        S3ComputedContentSHA256: shaHex,
      });
    }
    if (checks.contentMd5 !== undefined && checks.contentMd5 !== md5Buf.toString("base64")) {
      throw new S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.");
    }
    for (const c of checks.checksums) {
      if (c.hasher.digest() !== c.expected) {
        throw new S3Error("BadDigest", `The ${c.hasher.algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
      }
    }
    await file.sync();
    await file.close();
    fh = undefined;
    return { path, size, sha256: shaHex, md5: md5Buf.toString("hex"), dispose };
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await dispose();
    throw err;
  }
}

/** Reads and discards a body (for requests answered without one). */
export async function drain(body: AsyncIterable<Uint8Array>, limit = 1 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > limit) throw new S3Error("InvalidRequest", "Request body too large for this operation");
    parts.push(Buffer.from(c));
  }
  return Buffer.concat(parts);
}
