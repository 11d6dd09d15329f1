import { link, lstat, mkdir, rm, symlink, unlink } from "node:fs/promises";
import { applyNodeMetadata, makeDevice } from "./metadata.ts";
import type { PlannedLink, PlannedNode } from "./plan.ts";

/** Where a restore places nodes, and where it records per-path problems. */
export interface RestoreTarget {
  /** The on-disk path of a snapshot path. */
  onDisk(p: Buffer): Buffer;
  /** Records a problem with `path`; the restore carries on. */
  fail(path: string, message: string): void;
  /** Throws INTERRUPTED once the restore's signal aborted. */
  checkAbort(): void;
  /** Ownership is restored when running as root. */
  asRoot: boolean;
}

/**
 * Creates `dirs` (parents first; an existing directory is fine) with mode 0700 until their
 * metadata is applied; returns the paths of those that exist.
 */
export async function createDirs(
  t: RestoreTarget,
  dirs: readonly PlannedNode[],
): Promise<Set<string>> {
  const dirOk = new Set<string>();
  for (const d of dirs) {
    t.checkAbort();
    try {
      await mkdir(t.onDisk(d.pathBytes), { mode: 0o700 });
      dirOk.add(d.path);
    } catch (err) {
      if (
        (err as { code?: string }).code === "EEXIST" &&
        (await lstat(t.onDisk(d.pathBytes))).isDirectory()
      )
        dirOk.add(d.path);
      else t.fail(d.path, `cannot create directory: ${message(err)}`);
    }
  }
  return dirOk;
}

/**
 * Relinks `links` to their primary files (`done` tells which were restored); returns how many
 * hard links were made.
 */
export async function restoreLinks(
  t: RestoreTarget,
  links: readonly PlannedLink[],
  done: ReadonlyMap<PlannedNode, boolean>,
): Promise<number> {
  let made = 0;
  for (const l of links) {
    const path = t.onDisk(l.pathBytes);
    if (done.get(l.primary) !== true) {
      t.fail(l.path, `hard link to ${l.primary.path} not restored: that file failed`);
      continue;
    }
    try {
      await unlink(path).catch(() => undefined);
      await link(t.onDisk(l.primary.pathBytes), path);
      made++;
    } catch (err) {
      t.fail(l.path, `cannot create hard link: ${message(err)}`);
    }
  }
  return made;
}

/** Creates symlinks and devices (replacing whatever has their name), with their metadata. */
export async function restoreOthers(
  t: RestoreTarget,
  others: readonly PlannedNode[],
): Promise<void> {
  for (const n of others) {
    t.checkAbort();
    const path = t.onDisk(n.pathBytes);
    try {
      await rm(path, { force: true });
      if (n.node.type === "symlink") await symlink(n.node.linkTarget ?? Buffer.alloc(0), path);
      else await makeDevice(path, n.node);
    } catch (err) {
      t.fail(n.path, `cannot create ${n.node.type}: ${message(err)}`);
      continue;
    }
    for (const p of await applyNodeMetadata(path, n.node, t.asRoot)) t.fail(n.path, p);
  }
}

/** Applies the metadata of the created directories, deepest first (after their contents). */
export async function applyDirMetadata(
  t: RestoreTarget,
  dirs: readonly PlannedNode[],
  dirOk: ReadonlySet<string>,
): Promise<void> {
  for (let i = dirs.length - 1; i >= 0; i--) {
    const d = dirs[i]!;
    if (!dirOk.has(d.path)) continue;
    for (const p of await applyNodeMetadata(t.onDisk(d.pathBytes), d.node, t.asRoot))
      t.fail(d.path, p);
  }
}

/** The message of an error (or its string form). */
export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
