import { CofferError, isCofferError } from "../../core/errors.ts";
import type { BlobType } from "../../format/blob.ts";
import { shortId } from "../../format/ids.ts";
import { packKey } from "../../format/pack.ts";
import type { Storage } from "../../storage/storage.ts";
import type { TreePackCache } from "../cache/index.ts";

/**
 * The whole tree pack `packId`: from `packs` (the tree pack cache) when there, else fetched
 * (and cached when it hashes to its ID). Cached bytes are not hashed: callers decode blobs,
 * which authenticates them. `what` names the reader in errors.
 * @throws CofferError NOT_FOUND (pack missing), storage errors.
 */
export async function readTreePack(
  storage: Storage,
  packs: TreePackCache | undefined,
  packId: string,
  what: string,
): Promise<Uint8Array> {
  const cached = await packs?.readAll(packId);
  if (cached !== undefined) return cached;
  const get = (): Promise<Uint8Array> => getPack(storage, packId, what);
  return packs === undefined ? get() : packs.fetch(packId, get);
}

/** GETs (a range of) pack `packId`; a missing pack is NOT_FOUND naming `what` needed it. */
export async function getPack(
  storage: Storage,
  packId: string,
  what: string,
  range?: { offset: number; length: number },
): Promise<Uint8Array> {
  try {
    return await storage.get(packKey(packId), range);
  } catch (err) {
    if (isCofferError(err, "NOT_FOUND")) {
      throw new CofferError(
        "NOT_FOUND",
        `Cannot load ${what}: pack ${shortId(packId)} is missing`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

/** CORRUPT: blob `id` of `type` lies (partly) past the end of pack `packId`. */
export function truncated(type: BlobType, id: string, packId: string): CofferError {
  return new CofferError(
    "CORRUPT",
    `Cannot load ${type} blob ${shortId(id)}: pack ${shortId(packId)} is truncated`,
  );
}
