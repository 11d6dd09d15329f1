import type { Random } from "../core/deps.ts";
import { CofferError } from "../core/errors.ts";
import { compressBlob, decompressBlob } from "./compress.ts";
import { blobId, shortId } from "./ids.ts";
import type { MasterKey } from "./master-key.ts";
import { unseal, seal } from "./seal.ts";

/** The two kinds of blob; they never share a pack. */
export type BlobType = "data" | "tree";

/** Blob flag bit 0: the sealed plaintext is a zstd frame. */
export const FLAG_ZSTD = 1;

/** A blob ready to go into a pack. */
export interface EncodedBlob {
  /** Blob ID: HMAC-SHA256(macKey, raw). */
  id: Buffer;
  type: BlobType;
  /** `seal(encKey, "blob/<type>", maybeCompressed)`. */
  sealed: Uint8Array;
  /** Length of the raw plaintext. */
  rawLength: number;
  /** {@link FLAG_ZSTD} when compressed. */
  flags: number;
}

/** Hashes, compresses (when it pays) and seals one blob (format v1). */
export function encodeBlob(
  master: MasterKey,
  type: BlobType,
  raw: Uint8Array,
  random: Random,
): EncodedBlob {
  const id = blobId(master.macKey, raw);
  const { data, compressed } = compressBlob(raw);
  const sealed = seal(master.encKey, type === "data" ? "blob/data" : "blob/tree", data, random);
  return { id, type, sealed, rawLength: raw.length, flags: compressed ? FLAG_ZSTD : 0 };
}

/**
 * Opens a sealed blob, decompresses it and verifies that its plaintext hashes to
 * `expectedId`.
 * @throws CofferError CORRUPT `Cannot read blob 3fa1c2d4: ID mismatch` (or authentication
 *   failed / bad length).
 */
export function decodeBlob(
  master: MasterKey,
  type: BlobType,
  sealed: Uint8Array,
  flags: number,
  expectedId: Uint8Array | string,
  rawLength?: number,
): Buffer {
  const want =
    typeof expectedId === "string" ? Buffer.from(expectedId, "hex") : Buffer.from(expectedId);
  const what = `blob ${shortId(want)}`;
  let plain: Buffer;
  try {
    plain = unseal(master.encKey, type === "data" ? "blob/data" : "blob/tree", sealed);
  } catch (err) {
    throw new CofferError("CORRUPT", `Cannot read ${what}: authentication failed`, { cause: err });
  }
  let raw: Buffer;
  if ((flags & FLAG_ZSTD) !== 0) {
    raw = decompressBlob(plain, rawLength, what);
  } else {
    raw = plain;
  }
  if (rawLength !== undefined && raw.length !== rawLength) {
    throw new CofferError(
      "CORRUPT",
      `Cannot read ${what}: length ${raw.length}, expected ${rawLength}`,
    );
  }
  if (!blobId(master.macKey, raw).equals(want)) {
    throw new CofferError("CORRUPT", `Cannot read ${what}: ID mismatch`);
  }
  return raw;
}
