import type { TreeNode } from "../../format/tree.ts";
import { findSnapshot, type SnapshotSource } from "./find-snapshot.ts";
import { resolvePath, walkTree, type TreeLoader } from "../repository/index.ts";

/** One entry listed by {@link ls}. */
export interface LsEntry {
  /** Printable path inside the snapshot (see `displayPath`), starting with `/`. */
  path: string;
  /** The same path as raw bytes. */
  pathBytes: Buffer;
  node: TreeNode;
}

/** Options for {@link ls}. */
export interface LsOptions {
  /** Descend into subdirectories (default true). When false, only one level is listed. */
  recursive?: boolean;
}

/**
 * Lists a snapshot's nodes depth-first in name order. With `path`, lists that node and, when
 * it is a directory, everything below it. `snapshot` is an ID, a unique ID prefix or `latest`.
 * @throws CofferError SNAPSHOT_NOT_FOUND, AMBIGUOUS_ID, NOT_FOUND (no such path).
 */
export async function* ls(
  repo: SnapshotSource & TreeLoader,
  snapshot: string,
  path?: string | Uint8Array,
  o: LsOptions = {},
): AsyncGenerator<LsEntry> {
  const { snapshot: snap } = await findSnapshot(repo, snapshot);
  const recursive = o.recursive ?? true;
  const target = await resolvePath(repo, snap.tree, path ?? "/");
  if (target.node !== undefined)
    yield { path: target.path, pathBytes: target.pathBytes, node: target.node };
  if (target.tree === undefined) return;
  const walk = walkTree(repo, target.tree, { base: target.pathBytes, enter: () => recursive });
  for await (const e of walk) yield { path: e.path, pathBytes: e.pathBytes, node: e.node };
}
