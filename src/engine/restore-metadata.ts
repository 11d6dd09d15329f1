import { execFile } from "node:child_process";
import { chmod, lchown, lutimes, utimes } from "node:fs/promises";
import { promisify } from "node:util";
import type { TreeNode } from "../format/tree.ts";
import { writeXattrs } from "../fsmeta/xattrs.ts";

const run = promisify(execFile);

/**
 * Seconds as a double for `utimes`, from nanoseconds, keeping microseconds exact: Node
 * splits the double into seconds and nanoseconds, so half a microsecond is added to keep the
 * truncated microsecond from rounding down.
 */
export function timeArg(ns: bigint): number {
  const us = ns / 1000n;
  const sec = us / 1_000_000n;
  const frac = us % 1_000_000n;
  return Number(sec) + (Number(frac) + 0.5) / 1e6;
}

/**
 * Applies a node's metadata to `path` (already created): owner (only when running as root),
 * permission bits (not for symlinks), xattrs, then atime/mtime (last, since the others can
 * touch ctime only). Returns the problems met, one line each; never throws.
 */
export async function applyMetadata(path: Buffer, node: TreeNode, asRoot: boolean): Promise<string[]> {
  const problems: string[] = [];
  const note = (what: string, err: unknown): void => {
    problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  };
  if (asRoot) {
    try {
      await lchown(path, node.uid, node.gid);
    } catch (err) {
      note("cannot set owner", err);
    }
  }
  if (node.type !== "symlink") {
    try {
      await chmod(path, node.mode & 0o7777);
    } catch (err) {
      note("cannot set mode", err);
    }
  }
  if (node.xattrs !== undefined && node.xattrs.length > 0 && (node.type === "file" || node.type === "dir")) {
    await writeXattrs(path, node.type, node.xattrs, (w) => {
      problems.push(w.message);
    });
  }
  try {
    if (node.type === "symlink") await lutimes(path, timeArg(node.atimeNs), timeArg(node.mtimeNs));
    else await utimes(path, timeArg(node.atimeNs), timeArg(node.mtimeNs));
  } catch (err) {
    note("cannot set times", err);
  }
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
