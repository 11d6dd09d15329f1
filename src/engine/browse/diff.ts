import type { TreeNode } from "../../format/tree.ts";
import { findSnapshot, type SnapshotSource } from "./find-snapshot.ts";
import { displayPath, joinPath, ROOT, walkTree, type TreeLoader } from "../repository/index.ts";

/** `+` added, `-` removed, `M` modified (content or metadata), `T` type changed. */
export type ChangeKind = "+" | "-" | "M" | "T";

/** One difference between two snapshots. Directory paths end with `/`. */
export interface DiffEntry {
  change: ChangeKind;
  path: string;
  pathBytes: Buffer;
  /** For `M`: what changed (`content`, `mode`, `owner`, `mtime`, `size`, `xattrs`, `target`, `rdev`). */
  what?: string[];
  /** Node in A (absent for `+`). */
  a?: TreeNode;
  /** Node in B (absent for `-`). */
  b?: TreeNode;
}

/**
 * Compares snapshot `a` with snapshot `b` (IDs, prefixes or `latest`), yielding changes in
 * path order. Subtrees with the same tree ID are identical and skipped without loading.
 * Added or removed directories are listed with everything below them. A directory whose only
 * change is its times (because its contents changed) is not reported itself.
 */
export async function* diff(
  repo: SnapshotSource & TreeLoader,
  a: string,
  b: string,
): AsyncGenerator<DiffEntry> {
  const [sa, sb] = await Promise.all([findSnapshot(repo, a), findSnapshot(repo, b)]);
  yield* diffTrees(repo, sa.snapshot.tree, sb.snapshot.tree, ROOT);
}

/** Compares two trees below `dir`. */
export async function* diffTrees(
  repo: TreeLoader,
  ta: string,
  tb: string,
  dir: Buffer,
): AsyncGenerator<DiffEntry> {
  if (ta === tb) return;
  const [na, nb] = await Promise.all([repo.loadTree(ta), repo.loadTree(tb)]);
  let i = 0;
  let j = 0;
  while (i < na.length || j < nb.length) {
    const x = na[i];
    const y = nb[j];
    const c = x === undefined ? 1 : y === undefined ? -1 : Buffer.compare(x.name, y.name);
    if (c < 0) {
      yield* whole(repo, "-", x!, dir);
      i++;
    } else if (c > 0) {
      yield* whole(repo, "+", y!, dir);
      j++;
    } else {
      i++;
      j++;
      const p = joinPath(dir, x!.name);
      if (x!.type !== y!.type) {
        yield entry("T", p, x, y);
        continue;
      }
      const what = changes(x!, y!);
      if (x!.type === "dir") {
        if (what.length > 0) yield { ...entry("M", p, x, y), what };
        if (x!.subtree !== undefined && y!.subtree !== undefined)
          yield* diffTrees(repo, x!.subtree, y!.subtree, p);
      } else if (what.length > 0) {
        yield { ...entry("M", p, x, y), what };
      }
    }
  }
}

function entry(
  change: ChangeKind,
  pathBytes: Buffer,
  a: TreeNode | undefined,
  b: TreeNode | undefined,
): DiffEntry {
  const isDir = (b ?? a)?.type === "dir";
  const e: DiffEntry = { change, pathBytes, path: displayPath(pathBytes) + (isDir ? "/" : "") };
  if (a !== undefined) e.a = a;
  if (b !== undefined) e.b = b;
  return e;
}

async function* whole(
  repo: TreeLoader,
  change: "+" | "-",
  node: TreeNode,
  dir: Buffer,
): AsyncGenerator<DiffEntry> {
  const p = joinPath(dir, node.name);
  yield change === "+" ? entry("+", p, undefined, node) : entry("-", p, node, undefined);
  if (node.type !== "dir" || node.subtree === undefined) return;
  for await (const e of walkTree(repo, node.subtree, { base: p })) {
    yield change === "+"
      ? entry("+", e.pathBytes, undefined, e.node)
      : entry("-", e.pathBytes, e.node, undefined);
  }
}

/** What differs between two nodes of the same type (directory times are ignored). */
export function changes(a: TreeNode, b: TreeNode): string[] {
  const out: string[] = [];
  if (a.type === "file") {
    const ca = a.content ?? [];
    const cb = b.content ?? [];
    if (ca.length !== cb.length || ca.some((id, k) => id !== cb[k])) out.push("content");
    if (a.size !== b.size) out.push("size");
  }
  if ((a.mode & 0o7777) !== (b.mode & 0o7777)) out.push("mode");
  if (a.uid !== b.uid || a.gid !== b.gid) out.push("owner");
  if (a.type !== "dir" && a.mtimeNs !== b.mtimeNs) out.push("mtime");
  if (
    a.type === "symlink" &&
    !(a.linkTarget ?? Buffer.alloc(0)).equals(b.linkTarget ?? Buffer.alloc(0))
  )
    out.push("target");
  if ((a.rdev ?? 0) !== (b.rdev ?? 0)) out.push("rdev");
  if (xattrKey(a) !== xattrKey(b)) out.push("xattrs");
  return out;
}

function xattrKey(n: TreeNode): string {
  return (n.xattrs ?? []).map((x) => `${x.name}=${x.value.toString("base64")}`).join(",");
}
