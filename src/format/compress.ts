import { compress, decompress } from "zstd-napi";
import { CofferError } from "../core/errors.ts";

/** zstd level used for blobs (format v1). */
export const ZSTD_LEVEL = 3;

/** Result of {@link compressBlob}: `compressed` says whether `data` is a zstd frame. */
export interface CompressedBlob {
  data: Uint8Array;
  compressed: boolean;
}

/** Compresses with zstd level 3; keeps `raw` when the frame would not be smaller. */
export function compressBlob(raw: Uint8Array): CompressedBlob {
  if (raw.length === 0) return { data: raw, compressed: false };
  const frame = compress(raw, { compressionLevel: ZSTD_LEVEL });
  if (frame.length >= raw.length) return { data: raw, compressed: false };
  return { data: frame, compressed: true };
}

/**
 * Decompresses a zstd frame that must expand to exactly `rawLength` bytes (when given).
 * @throws CofferError CORRUPT when the frame is invalid or has the wrong length.
 */
export function decompressBlob(
  data: Uint8Array,
  rawLength: number | undefined,
  what = "blob",
): Buffer {
  let out: Buffer;
  try {
    out = decompress(data);
  } catch (err) {
    throw new CofferError("CORRUPT", `Cannot read ${what}: invalid zstd data`, { cause: err });
  }
  if (rawLength !== undefined && out.length !== rawLength) {
    throw new CofferError(
      "CORRUPT",
      `Cannot read ${what}: decompressed to ${out.length} bytes, expected ${String(rawLength)}`,
    );
  }
  return out;
}
