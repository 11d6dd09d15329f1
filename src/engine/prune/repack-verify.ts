import { createRequire } from "node:module";
import { CofferError } from "../../core/errors.ts";
import { type BlobType, FLAG_ZSTD } from "../../format/blob.ts";
import { blobId, shortId } from "../../format/ids.ts";
import type { MasterKey } from "../../format/master-key.ts";
import { unseal } from "../../format/seal.ts";
import { MAX_RAW } from "../restore/index.ts";

type Binding = typeof import("zstd-napi/binding.js");

/** One decompression context and one output buffer, reused for every blob verified. */
let zstd: { dctx: InstanceType<Binding["DCtx"]> } | undefined;
let scratch = Buffer.alloc(0);

/**
 * Checks a sealed blob as `decodeBlob` does (authenticated decryption, zstd frame expanding
 * to exactly `rawLength` bytes, HMAC of the plaintext equal to `id`) without keeping its
 * plaintext: a compressed blob is expanded into a reused buffer, so verifying a whole pack
 * leaves behind only the decrypted frames for the garbage collector, not the expanded data.
 * @throws CofferError CORRUPT naming the blob, with the reason.
 */
export function verifyBlob(
  master: MasterKey,
  type: BlobType,
  sealed: Uint8Array,
  flags: number,
  id: string,
  rawLength: number,
): void {
  const what = `blob ${shortId(id)}`;
  let plain: Buffer;
  try {
    plain = unseal(master.encKey, type === "data" ? "blob/data" : "blob/tree", sealed);
  } catch (err) {
    throw new CofferError("CORRUPT", `Cannot read ${what}: authentication failed`, { cause: err });
  }
  let raw: Uint8Array = plain;
  if ((flags & FLAG_ZSTD) !== 0) {
    if (rawLength > MAX_RAW)
      throw new CofferError("CORRUPT", `Cannot read ${what}: length ${rawLength} is implausible`);
    if (zstd === undefined) {
      const binding = createRequire(import.meta.url)("zstd-napi/binding.js") as Binding;
      zstd = { dctx: new binding.DCtx() };
    }
    // One spare byte: a frame that expands beyond rawLength fails, it is never truncated.
    if (scratch.length < rawLength + 1) scratch = Buffer.allocUnsafeSlow(rawLength + 1);
    let n: number;
    try {
      n = zstd.dctx.decompress(scratch.subarray(0, rawLength + 1), plain);
    } catch (err) {
      const why = `invalid zstd data or longer than ${rawLength} bytes`;
      throw new CofferError("CORRUPT", `Cannot read ${what}: ${why}`, { cause: err });
    }
    if (n !== rawLength) {
      const got = n > rawLength ? `more than ${rawLength}` : String(n);
      throw new CofferError(
        "CORRUPT",
        `Cannot read ${what}: decompressed to ${got} bytes, expected ${rawLength}`,
      );
    }
    raw = scratch.subarray(0, n);
  } else if (raw.length !== rawLength) {
    throw new CofferError(
      "CORRUPT",
      `Cannot read ${what}: length ${raw.length}, expected ${rawLength}`,
    );
  }
  if (!blobId(master.macKey, raw).equals(Buffer.from(id, "hex")))
    throw new CofferError("CORRUPT", `Cannot read ${what}: ID mismatch`);
}
