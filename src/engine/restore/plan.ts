import { compileGlobs, matchesAny, type Glob } from "../../fsmeta/glob.ts";
import type { TreeNode } from "../../format/tree.ts";
import { displayPath, joinPath, ROOT, type TreeLoader } from "../repository/index.ts";

/** One node to restore; `pathBytes` is its path inside the snapshot (starts with `/`). */
export interface PlannedNode {
  pathBytes: Buffer;
  path: string;
  node: TreeNode;
}

/** A file that shares its inode with an earlier file of the plan (a hard link). */
export interface PlannedLink extends PlannedNode {
  /** The first file of the same inode: the one whose contents are restored. */
  primary: PlannedNode;
}

/** What a restore will create, in creation order. */
export interface RestorePlan {
  /** Directories in pre-order (parents first). */
  dirs: PlannedNode[];
  /** Regular files whose contents are restored. */
  files: PlannedNode[];
  /** Further names of already planned files. */
  links: PlannedLink[];
  /** Symlinks and devices. */
  others: PlannedNode[];
  /** Subtrees that could not be loaded: everything below them is not restored. */
  treeErrors: { path: string; message: string }[];
}

/** Path filters, restic semantics (see `fsmeta/glob.ts`). */
export interface PlanFilters {
  /** Restore only nodes matching one of these (and the directories leading to them). */
  include?: readonly (string | Uint8Array)[];
  /** Skip nodes matching one of these (a directory with its whole subtree). */
  exclude?: readonly (string | Uint8Array)[];
}

/**
 * Walks the snapshot tree `rootTree` and decides what to restore. A node is restored when it
 * matches no exclude pattern and, if includes are given, an include pattern matches it or one
 * of its ancestors; directories on the way to a restored node are restored too. Hard-linked
 * files (same device and inode, `links > 1`) are restored once and linked.
 */
export async function planRestore(
  loader: TreeLoader,
  rootTree: string,
  f: PlanFilters = {},
): Promise<RestorePlan> {
  const includes = compileGlobs(f.include ?? []);
  const excludes = compileGlobs(f.exclude ?? []);
  const plan: RestorePlan = { dirs: [], files: [], links: [], others: [], treeErrors: [] };
  const inodes = new Map<string, PlannedNode>();
  const ctx: Ctx = { loader: new PrefetchingLoader(loader), includes, excludes, plan, inodes };
  await planTree(ctx, rootTree, ROOT, includes.length === 0);
  return plan;
}

/** Trees loaded ahead of the walk (decoded, waiting to be planned) at most. */
const PREFETCH = 16;

/**
 * Loads the subtrees of a directory while the walk plans the directories before them: the
 * walk stays depth-first and in order (the plan is the same), but tree reads overlap instead
 * of waiting one by one. A prefetched tree's error surfaces when the walk reaches it.
 */
class PrefetchingLoader {
  readonly #ahead = new Map<string, Promise<TreeNode[]>>();
  constructor(private readonly loader: TreeLoader) {}

  /** Starts loading `ids` (up to {@link PREFETCH} trees ahead). */
  prefetch(ids: readonly string[]): void {
    for (const id of ids) {
      if (this.#ahead.size >= PREFETCH) return;
      if (this.#ahead.has(id)) continue;
      const p = this.loader.loadTree(id);
      p.catch(() => undefined); // reported when the walk reaches the tree
      this.#ahead.set(id, p);
    }
  }

  loadTree(id: string): Promise<TreeNode[]> {
    const p = this.#ahead.get(id);
    if (p === undefined) return this.loader.loadTree(id);
    this.#ahead.delete(id);
    return p;
  }
}

interface Ctx {
  loader: PrefetchingLoader;
  includes: Glob[];
  excludes: Glob[];
  plan: RestorePlan;
  inodes: Map<string, PlannedNode>;
}

/** Plans one directory's contents; returns whether anything below was selected. */
async function planTree(
  ctx: Ctx,
  treeId: string,
  dir: Buffer,
  selected: boolean,
): Promise<boolean> {
  let nodes: TreeNode[];
  try {
    nodes = await ctx.loader.loadTree(treeId);
  } catch (err) {
    ctx.plan.treeErrors.push({
      path: displayPath(dir),
      message: err instanceof Error ? err.message : String(err),
    });
    return false;
  }
  // the subdirectories the loop below walks into, in the same order
  const walked = (node: TreeNode, pathBytes: Buffer, self: boolean): boolean =>
    !(ctx.excludes.length > 0 && matchesAny(ctx.excludes, pathBytes)) &&
    (self || ctx.includes.some((g) => g.mayMatchDescendant(pathBytes)));
  ctx.loader.prefetch(
    nodes.flatMap((n) => {
      if (n.type !== "dir" || n.subtree === undefined) return [];
      const pathBytes = joinPath(dir, n.name);
      return walked(n, pathBytes, selected || matchesAny(ctx.includes, pathBytes))
        ? [n.subtree]
        : [];
    }),
  );
  let any = false;
  for (const node of nodes) {
    const pathBytes = joinPath(dir, node.name);
    if (ctx.excludes.length > 0 && matchesAny(ctx.excludes, pathBytes)) continue;
    const self = selected || matchesAny(ctx.includes, pathBytes);
    const p: PlannedNode = { pathBytes, path: displayPath(pathBytes), node };
    if (node.type === "dir") {
      if (!walked(node, pathBytes, self)) continue;
      const slot = ctx.plan.dirs.length;
      ctx.plan.dirs.push(p);
      const below =
        node.subtree !== undefined && (await planTree(ctx, node.subtree, pathBytes, self));
      if (self || below) any = true;
      else ctx.plan.dirs.splice(slot, 1); // nothing selected inside: not created
      continue;
    }
    if (!self) continue;
    any = true;
    if (node.type === "file") {
      if (node.links > 1) {
        const key = `${node.devId}:${node.inode}`;
        const primary = ctx.inodes.get(key);
        if (primary !== undefined) {
          ctx.plan.links.push({ ...p, primary });
          continue;
        }
        ctx.inodes.set(key, p);
      }
      ctx.plan.files.push(p);
    } else {
      ctx.plan.others.push(p);
    }
  }
  return any;
}
