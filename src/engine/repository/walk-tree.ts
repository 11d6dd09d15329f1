import { CofferError } from "../../core/errors.ts";
import type { TreeNode } from "../../format/tree.ts";

/** Anything that can load a tree blob by ID (a `Repository`, or a test fake). */
export interface TreeLoader {
  loadTree(id: string): Promise<TreeNode[]>;
}

/** One node met by {@link walkTree}. */
export interface WalkEntry {
  /** Path inside the snapshot as raw bytes, `/`-separated, starting with `/`. */
  pathBytes: Buffer;
  /** {@link displayPath} of `pathBytes`. */
  path: string;
  node: TreeNode;
  /** Depth below the walk's start (children of the start tree have depth 1). */
  depth: number;
}

/** Options for {@link walkTree}. */
export interface WalkOptions {
  /** Path bytes of the tree being walked (default `/`, the snapshot root). */
  base?: Buffer;
  /**
   * Called for every directory before its subtree is loaded; returning false skips the
   * subtree (the directory itself is still yielded).
   */
  enter?: (entry: WalkEntry) => boolean;
  /**
   * Called when a subtree cannot be loaded; the walk then carries on with the next node.
   * Without it the error is thrown.
   */
  onTreeError?: (entry: WalkEntry, err: unknown) => void;
}

const SLASH = Buffer.from("/");
/** The root path `/`. */
export const ROOT: Buffer = Buffer.from("/");

/** Joins a directory path and an entry name (bytes). */
export function joinPath(dir: Buffer, name: Buffer): Buffer {
  return dir.length === 1 && dir[0] === 0x2f
    ? Buffer.concat([SLASH, name])
    : Buffer.concat([dir, SLASH, name]);
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * A printable form of path bytes: the UTF-8 text when valid, otherwise every byte of an
 * invalid sequence as `\xNN` (and a literal backslash as `\\`) so that distinct paths print
 * distinctly.
 */
export function displayPath(bytes: Uint8Array): string {
  try {
    const s = decoder.decode(bytes);
    if (!s.includes("\\")) return s;
  } catch {
    // fall through to escaping
  }
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const len =
      b < 0x80
        ? 1
        : b >= 0xc2 && b < 0xe0
          ? 2
          : b >= 0xe0 && b < 0xf0
            ? 3
            : b >= 0xf0 && b < 0xf5
              ? 4
              : 0;
    if (len === 1) {
      out += b === 0x5c ? "\\\\" : String.fromCharCode(b);
      i++;
      continue;
    }
    if (len > 0 && i + len <= bytes.length) {
      try {
        out += decoder.decode(bytes.subarray(i, i + len));
        i += len;
        continue;
      } catch {
        // invalid sequence: escape the lead byte
      }
    }
    out += `\\x${b.toString(16).padStart(2, "0")}`;
    i++;
  }
  return out;
}

/**
 * Walks a tree depth-first in name order, yielding every node (a directory before its
 * contents). Trees are loaded one at a time through `loader`.
 */
export async function* walkTree(
  loader: TreeLoader,
  treeId: string,
  o: WalkOptions = {},
): AsyncGenerator<WalkEntry> {
  const base = o.base ?? ROOT;
  yield* walkInner(loader, await loader.loadTree(treeId), base, 1, o);
}

async function* walkInner(
  loader: TreeLoader,
  nodes: TreeNode[],
  dir: Buffer,
  depth: number,
  o: WalkOptions,
): AsyncGenerator<WalkEntry> {
  for (const node of nodes) {
    const pathBytes = joinPath(dir, node.name);
    const entry: WalkEntry = { pathBytes, path: displayPath(pathBytes), node, depth };
    yield entry;
    if (node.type !== "dir" || node.subtree === undefined) continue;
    if (o.enter !== undefined && !o.enter(entry)) continue;
    let children: TreeNode[];
    try {
      children = await loader.loadTree(node.subtree);
    } catch (err) {
      if (o.onTreeError === undefined) throw err;
      o.onTreeError(entry, err);
      continue;
    }
    yield* walkInner(loader, children, pathBytes, depth + 1, o);
  }
}

/** Splits a snapshot path (`/a/b`, `a/b/`, `/`) into its non-empty components. */
export function splitPath(path: string | Uint8Array): Buffer[] {
  const bytes = typeof path === "string" ? Buffer.from(path, "utf8") : Buffer.from(path);
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x2f) {
      if (i > start) out.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

/** Result of {@link resolvePath}: the node at the path (undefined for the root itself). */
export interface ResolvedPath {
  pathBytes: Buffer;
  path: string;
  /** Undefined when the path is the root. */
  node: TreeNode | undefined;
  /** Tree ID to walk for the path's contents (a directory), or undefined (not a directory). */
  tree: string | undefined;
}

/**
 * Finds the node at `path` below the root tree `rootTree`.
 * @throws CofferError NOT_FOUND `Cannot find /a/b in snapshot: no such file or directory`
 *   (also when an intermediate component is not a directory).
 */
export async function resolvePath(
  loader: TreeLoader,
  rootTree: string,
  path: string | Uint8Array,
): Promise<ResolvedPath> {
  const parts = splitPath(path);
  let tree: string | undefined = rootTree;
  let node: TreeNode | undefined;
  let at: Buffer = ROOT;
  for (const part of parts) {
    if (part.length === 1 && part[0] === 0x2e) continue;
    const nodes: TreeNode[] = tree === undefined ? [] : await loader.loadTree(tree);
    const found = nodes.find((n) => n.name.equals(part));
    at = joinPath(at, part);
    if (found === undefined) {
      throw new CofferError(
        "NOT_FOUND",
        `Cannot find ${displayPath(at)} in snapshot: no such file or directory`,
      );
    }
    node = found;
    tree = found.type === "dir" ? found.subtree : undefined;
  }
  return { pathBytes: at, path: displayPath(at), node, tree };
}
