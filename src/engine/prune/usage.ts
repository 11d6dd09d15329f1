import { CofferError, isCofferError } from "../../core/errors.ts";
import { shortId } from "../../format/ids.ts";
import type { Snapshot } from "../../format/snapshot.ts";
import type { UsedBlobs } from "./accounting.ts";
import { mapLimit } from "../../core/parallel.ts";
import type { Repository } from "../repository/index.ts";

/** What a tree references directly: data blobs of its files and its subtrees. */
export interface TreeRefs {
  data: string[];
  trees: string[];
}

/** Result of {@link walkSnapshots}. */
export interface SnapshotWalk {
  used: UsedBlobs;
  /** Every reachable tree's direct references (for manifest recomputation). */
  trees: Map<string, TreeRefs>;
  /** The snapshots walked (those deleted meanwhile are left out), by ID. */
  snapshots: Map<string, Snapshot>;
}

const CONCURRENCY = 8;

/**
 * Walks the trees of every snapshot in `ids` (each tree once, level by level, 8 at a time)
 * and collects the blobs they reach. A snapshot deleted meanwhile (a concurrent forget) is
 * skipped; a tree that cannot be read stops the walk, since pruning without knowing what
 * is used could delete live data.
 * @throws CofferError naming the snapshot or tree that failed.
 */
export async function walkSnapshots(
  repo: Repository,
  ids: readonly string[],
): Promise<SnapshotWalk> {
  await repo.ensureIndex();
  const snapshots = new Map<string, Snapshot>();
  const loaded = await mapLimit(ids, CONCURRENCY, async (id) => {
    try {
      return { id, snap: await repo.loadSnapshot(id) };
    } catch (err) {
      if (isCofferError(err, "SNAPSHOT_NOT_FOUND")) return undefined;
      throw new CofferError(
        isCofferError(err) ? err.code : "IO",
        `Cannot prune: snapshot ${shortId(id)} is unreadable: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  });
  const used: UsedBlobs = { data: new Set(), tree: new Set() };
  const trees = new Map<string, TreeRefs>();
  let frontier: string[] = [];
  for (const x of loaded) {
    if (x === undefined) continue;
    snapshots.set(x.id, x.snap);
    if (!used.tree.has(x.snap.tree)) {
      used.tree.add(x.snap.tree);
      frontier.push(x.snap.tree);
    }
  }
  while (frontier.length > 0) {
    const refs = await mapLimit(frontier, CONCURRENCY, async (t): Promise<TreeRefs> => {
      let nodes;
      try {
        nodes = await repo.loadTree(t);
      } catch (err) {
        throw new CofferError(
          isCofferError(err) ? err.code : "IO",
          `Cannot prune: tree ${shortId(t)} is unreadable (run coffer check): ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
      const r: TreeRefs = { data: [], trees: [] };
      for (const n of nodes) {
        if (n.subtree !== undefined) r.trees.push(n.subtree);
        for (const b of n.content ?? []) r.data.push(b);
      }
      return r;
    });
    const next: string[] = [];
    frontier.forEach((t, i) => {
      const r = refs[i] as TreeRefs;
      trees.set(t, r);
      for (const b of r.data) used.data.add(b);
      for (const s of r.trees)
        if (!used.tree.has(s)) {
          used.tree.add(s);
          next.push(s);
        }
    });
    frontier = next;
  }
  return { used, trees, snapshots };
}

/**
 * Every pack a snapshot's whole tree references, sorted: the pack of each reachable tree
 * and data blob as `packOf` locates it.
 * @throws CofferError CORRUPT when `packOf` cannot place a blob.
 */
export function snapshotPacks(
  root: string,
  trees: ReadonlyMap<string, TreeRefs>,
  packOf: (type: "data" | "tree", id: string) => string | undefined,
): string[] {
  const packs = new Set<string>();
  const seen = new Set<string>([root]);
  const stack = [root];
  const place = (type: "data" | "tree", id: string): void => {
    const p = packOf(type, id);
    if (p === undefined)
      throw new CofferError("CORRUPT", `Cannot place ${type} blob ${shortId(id)} in any pack`);
    packs.add(p);
  };
  while (stack.length > 0) {
    const t = stack.pop() as string;
    place("tree", t);
    const r = trees.get(t);
    if (r === undefined)
      throw new CofferError("CORRUPT", `Cannot place tree ${shortId(t)}: it was not walked`);
    for (const b of r.data) place("data", b);
    for (const s of r.trees)
      if (!seen.has(s)) {
        seen.add(s);
        stack.push(s);
      }
  }
  return [...packs].sort();
}
