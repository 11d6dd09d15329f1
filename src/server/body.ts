import { createHash } from "node:crypto";
import { type FileHandle, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { fromSystemError } from "../core/errors.ts";
import { isSigV4Error } from "../sigv4/errors.ts";
import { S3Error } from "./s3/errors.ts";

/**
 * Checks a raw body as it streams (SigV4 payload hash, aws-chunked chunk signatures and
 * trailers, Content-MD5, x-amz-checksum-*): the shape of `src/sigv4`'s BodyVerifier.
 */
export interface PayloadVerifier {
  push(raw: Uint8Array): Uint8Array[];
  /** Throws unless the body is complete and intact; returns verified checksums by header name. */
  end(): { checksums: ReadonlyMap<string, string> };
}

/** Limits for a body. */
export interface BodyLimits {
  /** Payload size promised by `Content-Length` (non-chunked modes). */
  expectedLength?: number;
  maxBytes: number;
  /**
   * The payload's SHA-256 when the verifier checks it anyway (SigV4 hex payload mode): the
   * body is then not hashed a second time; `verifier.end()` guarantees the match.
   */
  verifiedSha256?: string;
  /**
   * fsync the temp file before returning (default true). PutObject passes false: the store
   * makes the object durable itself before it is linked and acknowledged
   * (`putFileIfAbsent` fsyncs the file, `putIfAbsent` writes a synced copy), so a second
   * fsync here would only add a disk flush to every request. Parts (kept as these files) and
   * anything else must stay true.
   */
  sync?: boolean;
}

/** A fully received, verified body in a temp file. Call `dispose` when done. */
export interface ReceivedBody {
  path: string;
  size: number;
  sha256: string;
  /** Hex MD5 (the S3 ETag of a single PUT). */
  md5: string;
  /** Verified flexible checksums (base64) by header name, to echo to the client. */
  checksums: ReadonlyMap<string, string>;
  dispose(): Promise<void>;
}

let counter = 0;
const FLUSH_BYTES = 1 << 20;

/**
 * Streams `body` through `verifier` into a temp file under `tmpDir`, hashing SHA-256 and MD5,
 * and returns only once everything verified. On any failure nothing is left behind.
 */
export async function receiveBody(
  body: AsyncIterable<Uint8Array>,
  tmpDir: string,
  verifier: PayloadVerifier,
  limits: BodyLimits,
): Promise<ReceivedBody> {
  const path = join(
    tmpDir,
    `body-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`,
  );
  const sha = limits.verifiedSha256 === undefined ? createHash("sha256") : undefined;
  const md5 = createHash("md5");
  let size = 0;
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, "wx", 0o600);
  } catch (err) {
    throw fromSystemError(err, `Cannot create temp file in ${tmpDir}`);
  }
  const file = fh;
  const dispose = (): Promise<void> => rm(path, { force: true });
  try {
    const write = async (bytes: Uint8Array): Promise<void> => {
      if (bytes.length === 0) return;
      size += bytes.length;
      if (size > limits.maxBytes) {
        throw new S3Error(
          "EntityTooLarge",
          `Your proposed upload exceeds the maximum allowed size (${limits.maxBytes} bytes)`,
        );
      }
      sha?.update(bytes);
      md5.update(bytes);
      // Socket chunks are small (~64 KiB) and fresh per read: gather ~1 MiB per write call.
      pending.push(bytes);
      pendingBytes += bytes.length;
      if (pendingBytes >= FLUSH_BYTES) await flush();
    };
    const flush = async (): Promise<void> => {
      let parts = pending;
      pending = [];
      pendingBytes = 0;
      while (parts.length > 0) {
        let n = (await file.writev(parts)).bytesWritten;
        let i = 0;
        while (i < parts.length && n >= parts[i]!.length) n -= parts[i++]!.length;
        parts = parts.slice(i);
        if (n > 0) parts[0] = parts[0]!.subarray(n);
      }
    };
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    try {
      for await (const raw of body) for (const piece of verifier.push(raw)) await write(piece);
      await flush();
    } catch (err) {
      if (err instanceof S3Error || isSigV4Error(err)) throw err;
      if ((err as { code?: string }).code === "ENOSPC")
        throw fromSystemError(err, "Cannot store upload");
      throw new S3Error(
        "IncompleteBody",
        `The request body ended early: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
    const result = verifier.end();
    if (limits.expectedLength !== undefined && size !== limits.expectedLength) {
      throw new S3Error(
        "IncompleteBody",
        `You did not provide the number of bytes specified by the Content-Length HTTP header (${size} of ${limits.expectedLength})`,
      );
    }
    if (limits.sync !== false) await file.sync();
    await file.close();
    fh = undefined;
    return {
      path,
      size,
      sha256: sha?.digest("hex") ?? limits.verifiedSha256 ?? "",
      md5: md5.digest("hex"),
      checksums: result.checksums,
      dispose,
    };
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await dispose();
    throw err;
  }
}

/** Reads and discards the rest of a body (after an early refusal), up to `limit` bytes. */
export async function drain(body: AsyncIterable<Uint8Array>, limit: number): Promise<void> {
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > limit) return;
  }
}
