import { isCofferError } from "../../core/errors.ts";
import { objectId } from "../../format/ids.ts";
import { packKey } from "../../format/pack.ts";
import { collect, mapLimit } from "../../core/parallel.ts";
import type { Repository } from "../repository/index.ts";
import { packEntryFromHeader } from "./pack-entries.ts";

/**
 * The first stored pack that no loaded index names and whose header lists one of `lost`
 * (blobs as `data:<id>` / `tree:<id>`), or undefined. Such a blob is not lost at all: its
 * index is (deleted or damaged), and `coffer repair index` brings it back. Packs whose
 * header cannot be read, or whose bytes do not hash to their name, are ignored (repair
 * index leaves them out too).
 */
export async function findUnindexedCopies(
  repo: Repository,
  lost: ReadonlySet<string>,
): Promise<string | undefined> {
  if (lost.size === 0) return undefined;
  const unindexed = (await collect(repo.storage.list("data/")))
    .map((x) => ({ id: x.key.slice(x.key.lastIndexOf("/") + 1), key: x.key, size: x.size }))
    .filter((p) => p.key === packKey(p.id) && !repo.packs.has(p.id))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const hits = await mapLimit(unindexed, 8, async (p) => {
    try {
      const e = await packEntryFromHeader(repo.storage, repo.master, p.id, p.size);
      if (!e.blobs.some(([id]) => lost.has(`${e.type}:${id}`))) return undefined;
      // A damaged pack (left out by repair index --read-all-packs) holds no usable copy.
      return objectId(await repo.storage.get(packKey(p.id))) === p.id ? p.id : undefined;
    } catch (err) {
      if (isCofferError(err, "CORRUPT") || isCofferError(err, "NOT_FOUND")) return undefined;
      throw err;
    }
  });
  return hits.find((h) => h !== undefined);
}
