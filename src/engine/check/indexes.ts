import { decodeIndex } from "../../format/index-file.ts";
import { objectId, shortId } from "../../format/ids.ts";
import type { CheckState } from "./packs.ts";
import { collect, mapLimit } from "../../core/parallel.ts";

const CONCURRENCY = 4;

const msg = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Decodes every index and builds the blob and pack maps; damaged indexes are errors. Indexes
 * that a readable index supersedes are left out, as readers do: a damaged one is only info
 * (behind a coffer gateway the objects `coffer repair index` replaced stay listed until their
 * pending deletion executes).
 */
export async function checkIndexes(s: CheckState): Promise<void> {
  const ids = (await collect(s.storage.list("index/")))
    .map((o) => o.key.slice("index/".length))
    .sort();
  s.stats.indexes = ids.length;
  const decoded = await mapLimit(ids, CONCURRENCY, async (id) => {
    try {
      const bytes = await s.storage.get(`index/${id}`);
      if (objectId(bytes) !== id)
        throw new Error(
          `Cannot open index ${shortId(id)}: checksum mismatch (content does not match its name)`,
        );
      return { id, file: decodeIndex(s.master, bytes, id) };
    } catch (err) {
      return { id, error: msg(err) };
    }
  });
  const superseded = new Set(decoded.flatMap((d) => d.file?.supersedes ?? []));
  for (const { id, file, error } of decoded) {
    if (error !== undefined) {
      s.problems.push(
        superseded.has(id)
          ? {
              severity: "info",
              object: `index ${shortId(id)}`,
              message: `${error} (superseded by a readable index: harmless, awaiting deletion)`,
            }
          : { severity: "error", object: `index ${shortId(id)}`, message: error },
      );
      continue;
    }
    if (superseded.has(id)) continue;
    for (const p of file.packs) {
      const known = s.packs.get(p.id);
      if (known !== undefined && (known.size !== p.size || known.type !== p.type)) {
        s.problems.push({
          severity: "error",
          object: `pack ${shortId(p.id)}`,
          message: `indexes disagree about pack ${shortId(p.id)} (size ${known.size} vs ${p.size})`,
        });
      }
      if (known === undefined)
        s.packs.set(p.id, { id: p.id, type: p.type, size: p.size, blobs: p.blobs });
      for (const [bid, offset, length, rawLength, flags] of p.blobs) {
        const key = `${p.type}:${bid}`;
        const first = s.blobs.get(key);
        if (first === undefined)
          s.blobs.set(key, { type: p.type, packId: p.id, offset, length, rawLength, flags });
        else if (first.packId !== p.id) {
          const more = s.copies.get(key) ?? [];
          if (!more.includes(p.id)) more.push(p.id);
          s.copies.set(key, more);
        }
      }
    }
  }
}
