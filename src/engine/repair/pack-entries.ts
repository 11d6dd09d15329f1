import { CofferError, isCofferError } from "../../core/errors.ts";
import { shortId } from "../../format/ids.ts";
import { type IndexPack, decodeIndex } from "../../format/index-file.ts";
import type { MasterKey } from "../../format/master-key.ts";
import { PACK_TAIL_READ, packKey, readPackHeader } from "../../format/pack.ts";
import type { Storage } from "../../storage/storage.ts";
import { collect, mapLimit } from "../../core/parallel.ts";

/**
 * The index entry of pack `id` of `size` bytes, rebuilt from its own sealed header (one
 * range read of its tail, a second one when the header is longer than that).
 * @throws CofferError CORRUPT naming the pack when its header cannot be read; storage errors.
 */
export async function packEntryFromHeader(
  storage: Storage,
  master: MasterKey,
  id: string,
  size: number,
): Promise<IndexPack> {
  const tailOf = (n: number): Promise<Uint8Array> =>
    storage.get(packKey(id), { offset: Math.max(0, size - n), length: Math.min(n, size) });
  let h = readPackHeader(master, await tailOf(PACK_TAIL_READ), size, id);
  if ("need" in h) h = readPackHeader(master, await tailOf(h.need), size, id);
  if ("need" in h)
    throw new CofferError("CORRUPT", `Cannot open pack ${shortId(id)}: header cannot be read`);
  return {
    id,
    type: h.type,
    size,
    blobs: h.entries.map((e) => [e.id.toString("hex"), e.offset, e.length, e.rawLength, e.flags]),
  };
}

/** Every index object of a repository, decoded where possible. */
export interface IndexObjects {
  /** Every listed index object that still existed when read, sorted. */
  ids: string[];
  /** The decodable ones, in ID order. */
  readable: { id: string; packs: IndexPack[]; supersedes: string[] }[];
  /** Those that cannot be decoded (CORRUPT), with why. */
  damaged: { id: string; message: string }[];
}

/**
 * Lists and decodes every `index/` object straight from storage (no cache: a repair must
 * see what is stored). An object deleted meanwhile is left out.
 * @throws storage errors, UNSUPPORTED_VERSION (an index of a newer coffer is never rebuilt).
 */
export async function readIndexObjects(
  storage: Storage,
  master: MasterKey,
  concurrency = 8,
): Promise<IndexObjects> {
  const listed = (await collect(storage.list("index/")))
    .map((o) => o.key.slice("index/".length))
    .sort();
  const out: IndexObjects = { ids: [], readable: [], damaged: [] };
  const read = await mapLimit(listed, concurrency, async (id) => {
    let bytes: Uint8Array;
    try {
      bytes = await storage.get(`index/${id}`);
    } catch (err) {
      if (isCofferError(err, "NOT_FOUND")) return undefined;
      throw err;
    }
    try {
      const f = decodeIndex(master, bytes, id);
      return { id, packs: f.packs, supersedes: f.supersedes };
    } catch (err) {
      if (!isCofferError(err, "CORRUPT")) throw err;
      return { id, message: err.message };
    }
  });
  for (const r of read) {
    if (r === undefined) continue;
    out.ids.push(r.id);
    if (r.packs !== undefined) out.readable.push(r);
    else out.damaged.push({ id: r.id, message: r.message });
  }
  return out;
}
