import { createRequire } from "node:module";
import { CofferError, isCofferError, type ErrorCode } from "../../core/errors.ts";
import { FLAG_ZSTD } from "../../format/blob.ts";
import { blobId, shortId } from "../../format/ids.ts";
import type { MasterKey } from "../../format/master-key.ts";
import { unseal } from "../../format/seal.ts";

/** A decode job: a range's bytes (shared) and its blobs as `[id, start, length, flags, rawLength]`. */
export interface DecodeJob {
  input: SharedArrayBuffer;
  inputLength: number;
  output: SharedArrayBuffer;
  blobs: [string, number, number, number, number][];
  /** Whether the decoding thread checks plaintexts against IDs (else the receiver must). */
  checkIds: boolean;
}

/** Per blob: the offset of its verified plaintext in the output area, or the error. */
export type DecodeResult = number | { code: ErrorCode; message: string };

type Binding = typeof import("zstd-napi/binding.js");

/** Largest plaintext accepted for one blob (bounds the scratch buffer for a hostile index). */
export const MAX_RAW = 64 * 1024 * 1024;

/**
 * Decodes data blobs for restore like `format/blob.ts`'s `decodeBlob` (authenticate, decrypt,
 * decompress, check the plaintext against its ID, same error messages), but decompresses
 * through one reused zstd context into one reused scratch buffer: a compressed blob's
 * plaintext is a view that the next {@link decode} overwrites.
 */
export class BlobDecoder {
  readonly #dctx: InstanceType<Binding["DCtx"]>;
  #scratch = Buffer.alloc(0);

  constructor(private readonly master: MasterKey) {
    const binding = createRequire(import.meta.url)("zstd-napi/binding.js") as Binding;
    this.#dctx = new binding.DCtx();
  }

  /**
   * Returns the verified plaintext of a data blob, valid until the next call. With `dst` (at
   * least `rawLength + 1` bytes) the plaintext is written there and the result is a view of it.
   * `checkId: false` leaves the ID check to the caller, who must run it (see
   * {@link checkBlobId}) before the plaintext is used.
   * @throws CofferError CORRUPT `Cannot read blob 3fa1c2d4: authentication failed` (or invalid
   *   zstd data, wrong length, ID mismatch).
   */
  decode(
    id: string,
    sealed: Uint8Array,
    flags: number,
    rawLength: number,
    dst?: Buffer,
    checkId = true,
  ): Buffer {
    const what = `blob ${shortId(id)}`;
    let plain: Buffer;
    try {
      plain = unseal(this.master.encKey, "blob/data", sealed);
    } catch (err) {
      throw new CofferError("CORRUPT", `Cannot read ${what}: authentication failed`, {
        cause: err,
      });
    }
    let raw = plain;
    if ((flags & FLAG_ZSTD) !== 0) {
      if (rawLength > MAX_RAW)
        throw new CofferError("CORRUPT", `Cannot read ${what}: length ${rawLength} is implausible`);
      // one spare byte, so a frame that expands further shows up as a wrong length
      if (dst === undefined && this.#scratch.length < rawLength + 1)
        this.#scratch = Buffer.allocUnsafeSlow(Math.max(rawLength + 1, 1024 * 1024));
      const out = dst ?? this.#scratch;
      let n: number;
      try {
        n = this.#dctx.decompress(out.subarray(0, rawLength + 1), plain);
      } catch (err) {
        throw new CofferError("CORRUPT", `Cannot read ${what}: invalid zstd data`, { cause: err });
      }
      if (n !== rawLength)
        throw new CofferError(
          "CORRUPT",
          `Cannot read ${what}: decompressed to ${n} bytes, expected ${rawLength}`,
        );
      raw = out.subarray(0, n);
    } else if (raw.length !== rawLength) {
      throw new CofferError(
        "CORRUPT",
        `Cannot read ${what}: length ${raw.length}, expected ${rawLength}`,
      );
    } else if (dst !== undefined) {
      dst.set(plain);
      raw = dst.subarray(0, rawLength);
    }
    if (checkId) checkBlobId(this.master, id, raw);
    return raw;
  }
}

/**
 * The end-to-end check of a blob: its plaintext must hash (HMAC-SHA256 under the repository's
 * MAC key) to its ID.
 * @throws CofferError CORRUPT `Cannot read blob 3fa1c2d4: ID mismatch`.
 */
export function checkBlobId(master: MasterKey, id: string, raw: Uint8Array): void {
  if (!blobId(master.macKey, raw).equals(Buffer.from(id, "hex")))
    throw new CofferError("CORRUPT", `Cannot read blob ${shortId(id)}: ID mismatch`);
}

/**
 * Decodes the blobs of one range (`job.input`, `job.inputLength` bytes) one after the other
 * into `job.output` (a restore worker calls it). Returns per blob the offset of its plaintext,
 * or its error. The plaintexts are verified against their IDs unless `job.checkIds` is false.
 */
export function decodeRange(decoder: BlobDecoder, job: DecodeJob): DecodeResult[] {
  const input = Buffer.from(job.input, 0, job.inputLength);
  const out = Buffer.from(job.output);
  const results: DecodeResult[] = [];
  let pos = 0;
  for (const [id, start, length, flags, rawLength] of job.blobs) {
    try {
      if (pos + rawLength + 1 > out.length) throw new Error("output area too small");
      decoder.decode(
        id,
        input.subarray(start, start + length),
        flags,
        rawLength,
        out.subarray(pos),
        job.checkIds,
      );
      results.push(pos);
      pos += rawLength;
    } catch (err) {
      results.push({
        code: isCofferError(err) ? err.code : "CORRUPT",
        message: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return results;
}
