import { isCofferError } from "../../core/errors.ts";
import type { Snapshot } from "../../format/snapshot.ts";
import { parseTimeNs } from "../../format/time.ts";
import type { TreeNode } from "../../format/tree.ts";
import { components } from "./nodes.ts";
import { type Lookup, type ParentTrees, nameKey as key } from "./pipeline/parent-trees.ts";
import type { Repository } from "../repository/index.ts";

/**
 * Finds the parent: the newest snapshot with the same host and the same set of paths.
 */
export async function findParent(
  repo: Repository,
  host: string,
  paths: readonly string[],
): Promise<{ id: string; snapshot: Snapshot } | undefined> {
  const want = [...new Set(paths)].sort().join("\0");
  let best: { id: string; snapshot: Snapshot; t: bigint } | undefined;
  // A damaged snapshot is skipped with a warning; any other failure only costs the parent.
  const skip = (id: string, err: unknown): void => {
    if (isCofferError(err, "CORRUPT")) repo.skipUnreadableSnapshot(id, err);
  };
  for (const s of await repo.loadSnapshots(skip)) {
    if (s.snapshot.host !== host || [...new Set(s.snapshot.paths)].sort().join("\0") !== want)
      continue;
    const t = parseTimeNs(s.snapshot.time);
    if (best === undefined || t > best.t || (t === best.t && s.id > best.id)) best = { ...s, t };
  }
  return best;
}

/**
 * The parent snapshot's node for an absolute root path, found by walking the parent's trees
 * from `root` (undefined when the parent has no such path).
 */
export async function parentNodeAt(
  trees: ParentTrees,
  root: Promise<Lookup>,
  path: Buffer,
): Promise<TreeNode | undefined> {
  const parts = components(path);
  let look = await root;
  for (let i = 0; i < parts.length; i++) {
    const n = look?.get(key(parts[i]!));
    if (n === undefined || i === parts.length - 1) return n;
    look = n.subtree !== undefined ? await trees.take(n.subtree) : undefined;
  }
  return undefined;
}
