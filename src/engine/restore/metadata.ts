import { execFile } from "node:child_process";
import { fchmodSync, fchownSync } from "node:fs";
import { promisify } from "node:util";
import type { TreeNode } from "../../format/tree.ts";
import { applyMetadata } from "../../fsmeta/apply-metadata.ts";
import { setTimesNs } from "../../fsmeta/utimens.ts";
import type { EntryKind } from "../../fsmeta/entry-stat.ts";

const run = promisify(execFile);

/**
 * Applies a node's metadata to `path` (already created, and for a directory already
 * filled) through fsmeta's `applyMetadata`: owner (only when running as root), permission bits
 * (not for symlinks), xattrs, then atime/mtime at microsecond precision. Returns the problems
 * met, one line each; never throws.
 */
export async function applyNodeMetadata(
  path: Buffer,
  node: TreeNode,
  asRoot: boolean,
): Promise<string[]> {
  const problems: string[] = [];
  const kind: EntryKind = node.type === "dev" ? "blockdev" : node.type;
  await applyMetadata(
    path,
    {
      kind,
      mode: node.mode,
      uid: node.uid,
      gid: node.gid,
      mtimeNs: node.mtimeNs,
      atimeNs: node.atimeNs,
      ...(node.xattrs ? { xattrs: node.xattrs } : {}),
    },
    { owners: asRoot, onWarning: (w) => problems.push(w.message) },
  );
  return problems;
}

/**
 * For a regular file without xattrs: the first steps of {@link applyNodeMetadata} (owner when
 * `asRoot`, then permission bits) on the open descriptor `fd`, synchronously, with the same
 * one-line messages naming `path`; the times follow with {@link applyFileTimes} once the file
 * has its final name. Returns `undefined` when the node has xattrs (the caller then uses
 * {@link applyNodeMetadata} on the path); never throws.
 */
export function applyFileMetadataSync(
  fd: number,
  path: Buffer,
  node: TreeNode,
  asRoot: boolean,
): string[] | undefined {
  if (node.xattrs !== undefined && node.xattrs.length > 0) return undefined;
  const problems: string[] = [];
  const show = path.toString();
  const detail = (err: unknown): string => {
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === "string" ? code : err instanceof Error ? err.message : String(err);
  };
  if (asRoot) {
    try {
      fchownSync(fd, node.uid, node.gid);
    } catch (err) {
      problems.push(`Cannot chown ${show} to ${node.uid}:${node.gid}: ${detail(err)}`);
    }
  }
  try {
    fchmodSync(fd, node.mode & 0o7777);
  } catch (err) {
    problems.push(`Cannot chmod ${show} to 0${(node.mode & 0o7777).toString(8)}: ${detail(err)}`);
  }
  return problems;
}

/** Last step for a file done by {@link applyFileMetadataSync}: atime/mtime (fsmeta precision). */
export async function applyFileTimes(
  path: Buffer,
  node: TreeNode,
  problems: string[],
): Promise<void> {
  try {
    await setTimesNs(path, node.atimeNs, node.mtimeNs);
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    problems.push(
      `Cannot set times of ${path.toString()}: ${typeof code === "string" ? code : err instanceof Error ? err.message : String(err)}`,
    );
  }
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
  await run("mknod", [
    path.toString("utf8"),
    node.type === "dev" ? "b" : "c",
    String(major),
    String(minor),
  ]);
}
