import type { BlobType } from "../../format/blob.ts";
import type { IndexBlob, IndexPack } from "../../format/index-file.ts";

/** How one stored, indexed pack is used by the snapshots (see {@link accountUsage}). */
export interface PackUsage {
  id: string;
  type: BlobType;
  /** Stored size of the pack object. */
  size: number;
  /** Blobs whose counted copy lives in this pack. */
  used: IndexBlob[];
  /** Sealed bytes of {@link used}. */
  usedBytes: number;
  /** Sealed bytes of every other blob of the pack (unused, or a copy counted elsewhere). */
  unusedBytes: number;
}

/** Blob IDs (hex) that the snapshots reach, by type. */
export interface UsedBlobs {
  data: Set<string>;
  tree: Set<string>;
}

/** Where the counted copy of a used blob lives. */
export interface ChosenCopy {
  packId: string;
  blob: IndexBlob;
}

/** Result of {@link accountUsage}. */
export interface Usage {
  /** Every stored pack that an index names, by ID. */
  packs: Map<string, PackUsage>;
  /** The counted copy of each used blob, keyed by {@link blobKey}. */
  chosen: Map<string, ChosenCopy>;
  /** Used blobs with no copy in any stored, indexed pack (the repository is damaged). */
  missing: { type: BlobType; id: string }[];
  /** Stored packs no index names (an interrupted backup or repack): wholly unused. */
  unindexed: { id: string; size: number }[];
}

/** Map key of a blob: its type's initial and its ID. */
export function blobKey(type: BlobType, id: string): string {
  return (type === "data" ? "d" : "t") + id;
}

/**
 * Accounts blob usage per pack (pure). `indexPacks` are the pack entries of every live index
 * object (a pack named twice counts once; packs not in `stored` are ignored). A blob with
 * copies in several packs counts as used in exactly one of them, chosen deterministically:
 * not in `avoid` (packs already planned for deletion) if possible, then the pack with the
 * most bytes of used blobs (counting every copy), then the fewest other bytes, then the
 * smallest pack ID. So after an interrupted repack the fresh, fully used pack wins and the
 * old copy becomes unused.
 */
export function accountUsage(
  indexPacks: readonly IndexPack[],
  stored: ReadonlyMap<string, number>,
  used: UsedBlobs,
  avoid: ReadonlySet<string> = new Set(),
): Usage {
  const packs = new Map<string, IndexPack>();
  for (const p of indexPacks) if (stored.has(p.id) && !packs.has(p.id)) packs.set(p.id, p);
  const isUsed = (type: BlobType, id: string): boolean =>
    (type === "data" ? used.data : used.tree).has(id);

  // Score every pack by the bytes of used blobs it holds (any copy).
  const score = new Map<string, { usedAll: number; other: number }>();
  for (const p of packs.values()) {
    let usedAll = 0;
    let other = 0;
    for (const b of p.blobs) {
      if (isUsed(p.type, b[0])) usedAll += b[2];
      else other += b[2];
    }
    score.set(p.id, { usedAll, other });
  }
  const better = (a: string, b: string): boolean => {
    const av = avoid.has(a);
    if (av !== avoid.has(b)) return !av;
    const sa = score.get(a) ?? { usedAll: 0, other: 0 };
    const sb = score.get(b) ?? { usedAll: 0, other: 0 };
    if (sa.usedAll !== sb.usedAll) return sa.usedAll > sb.usedAll;
    if (sa.other !== sb.other) return sa.other < sb.other;
    return a < b;
  };
  const chosen = new Map<string, ChosenCopy>();
  for (const p of packs.values()) {
    for (const b of p.blobs) {
      if (!isUsed(p.type, b[0])) continue;
      const k = blobKey(p.type, b[0]);
      const cur = chosen.get(k);
      if (cur === undefined || (cur.packId !== p.id && better(p.id, cur.packId)))
        chosen.set(k, { packId: p.id, blob: b });
    }
  }
  const out = new Map<string, PackUsage>();
  for (const p of packs.values()) {
    const u: PackUsage = {
      id: p.id,
      type: p.type,
      size: stored.get(p.id) ?? p.size,
      used: [],
      usedBytes: 0,
      unusedBytes: 0,
    };
    for (const b of p.blobs) {
      const c = chosen.get(blobKey(p.type, b[0]));
      // The same blob twice in one pack: only the chosen offset counts.
      if (c !== undefined && c.packId === p.id && c.blob[1] === b[1]) {
        u.used.push(b);
        u.usedBytes += b[2];
      } else u.unusedBytes += b[2];
    }
    out.set(p.id, u);
  }
  const missing: { type: BlobType; id: string }[] = [];
  for (const [type, set] of [
    ["data", used.data],
    ["tree", used.tree],
  ] as const)
    for (const id of set) if (!chosen.has(blobKey(type, id))) missing.push({ type, id });
  const unindexed = [...stored]
    .filter(([id]) => !packs.has(id))
    .map(([id, size]) => ({ id, size }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  return { packs: out, chosen, missing, unindexed };
}
