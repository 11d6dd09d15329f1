import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { TreeNode } from "../format/tree.ts";
import { applyMetadata } from "../fsmeta/apply-metadata.ts";
import type { EntryKind } from "../fsmeta/entry-stat.ts";

const run = promisify(execFile);

/**
 * Applies a node's metadata to `path` (already created, and for a directory already
 * filled) through fsmeta's `applyMetadata`: owner (only when running as root), permission bits
 * (not for symlinks), xattrs, then atime/mtime at microsecond precision. Returns the problems
 * met, one line each; never throws.
 */
export async function applyNodeMetadata(path: Buffer, node: TreeNode, asRoot: boolean): Promise<string[]> {
  const problems: string[] = [];
  const kind: EntryKind = node.type === "dev" ? "blockdev" : node.type;
  await applyMetadata(
    path,
    { kind, mode: node.mode, uid: node.uid, gid: node.gid, mtimeNs: node.mtimeNs, atimeNs: node.atimeNs, ...(node.xattrs ? { xattrs: node.xattrs } : {}) },
    { owners: asRoot, onWarning: (w) => problems.push(w.message) },
  );
  return problems;
}

/** Linux major/minor of an `st_rdev` value. */
export function devNumbers(rdev: number): { major: number; minor: number } {
  const r = BigInt(rdev);
  const major = Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn));
  const minor = Number((r & 0xffn) | ((r >> 12n) & ~0xffn));
  return { major, minor };
}

/**
 * Creates a block or character device node with `mknod(1)` (Node has no mknod); needs root.
 * @throws when mknod fails.
 */
export async function makeDevice(path: Buffer, node: TreeNode): Promise<void> {
  const { major, minor } = devNumbers(node.rdev ?? 0);
  await run("mknod", [path.toString("utf8"), node.type === "dev" ? "b" : "c", String(major), String(minor)]);
}
