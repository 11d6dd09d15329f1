import { lstatSync } from "node:fs";
import { resolve } from "node:path";
import { CofferError, isCofferError } from "../core/errors.ts";
import type { Snapshot, SnapshotStats } from "../format/snapshot.ts";
import { parseTimeNs } from "../format/time.ts";
import type { TreeNode } from "../format/tree.ts";
import { toEntryStat } from "../fsmeta/entry-stat.ts";
import { Owners } from "../fsmeta/owners.ts";
import { type WalkEntry, walkEvents } from "../fsmeta/walker.ts";
import { type Xattr, readXattrs } from "../fsmeta/xattrs.ts";
import { listAttributesSync } from "fs-xattr";
import {
  type BackupResult,
  type BackupWarning,
  References,
  commitSnapshot,
  currentHost,
  emptyStats,
  snapshotTime,
  throwIfInterrupted,
} from "./backup-commit.ts";
import { DataPipeline } from "./pipeline/data-pipeline.ts";
import { type Lookup, ParentTrees, nameKey } from "./pipeline/parent-trees.ts";
import type { Repository } from "./repository.ts";

export type { BackupResult, BackupWarning } from "./backup-commit.ts";

/** Progress of a running backup (counters so far). */
export interface BackupProgress {
  files: number;
  dirs: number;
  /** Bytes of files seen (read or unchanged). */
  bytes: number;
  /** Bytes actually read. */
  processedBytes: number;
}

/** Options for {@link backup}. */
export interface BackupOptions {
  paths: readonly string[];
  tags?: readonly string[];
  /** Host recorded in the snapshot (default: this machine's host name). */
  host?: string;
  excludes?: readonly string[];
  excludeFiles?: readonly string[];
  oneFileSystem?: boolean;
  /** Snapshot time (default: the repository clock). */
  time?: Date | number | string;
  /** Parent snapshot ID; `false` reads every file (no parent). Default: found automatically. */
  parent?: string | false;
  /** Worker threads (default `os.availableParallelism()`). */
  workers?: number;
  onProgress?: (p: BackupProgress) => void;
  onWarning?: (w: BackupWarning) => void;
  signal?: AbortSignal;
}

const key = nameKey;

interface Frame {
  entry: WalkEntry;
  nodes: Promise<TreeNode | undefined>[];
  /** The parent snapshot's node for this directory and its children by name. */
  old: Promise<{ node: TreeNode | undefined; children: Lookup }>;
}

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

/** Base tree node (no content/subtree) for a walked entry. */
function baseNode(
  owners: Owners,
  e: { name: Buffer; stat: WalkEntry["stat"] },
  type: TreeNode["type"],
): TreeNode {
  const user = owners.userName(e.stat.uid) ?? "";
  const group = owners.groupName(e.stat.gid) ?? "";
  return {
    name: e.name,
    type,
    mode: e.stat.mode & 0o7777,
    uid: e.stat.uid,
    gid: e.stat.gid,
    user,
    group,
    mtimeNs: e.stat.mtimeNs,
    atimeNs: e.stat.atimeNs,
    ctimeNs: e.stat.ctimeNs,
    size: 0,
    inode: e.stat.ino,
    devId: e.stat.dev,
    links: e.stat.nlink,
  };
}

/**
 * Backs up `paths` (made absolute) into a new snapshot. Directories are processed post-order
 * (children first, then the directory's tree blob); file data goes through the worker
 * pipeline. The snapshot's root tree mirrors the absolute paths (`/srv/www` is stored as
 * `srv/www`). Unchanged files (same size, mtime, ctime and inode as in the parent snapshot,
 * blobs still indexed) are not read. Commit order: packs → index → snapshot → manifest.
 */
export async function backup(repo: Repository, o: BackupOptions): Promise<BackupResult> {
  if (o.paths.length === 0) throw new CofferError("BAD_INPUT", "Cannot back up: no paths given");
  // Blobs of packs missing from storage are never deduplicated against (ADR 0013).
  await repo.ensureIndex({ verifyPacks: true });
  const host = o.host ?? currentHost();
  const paths = [...new Set(o.paths.map((p) => resolve(p)))].sort();
  const parent =
    o.parent === false
      ? undefined
      : o.parent !== undefined
        ? { id: o.parent, snapshot: await repo.loadSnapshot(o.parent) }
        : await findParent(repo, host, paths);
  const time = snapshotTime(repo, o.time);
  const owners = await Owners.system();
  const stats = emptyStats();
  const warnings: BackupWarning[] = [];
  const warn = (path: Buffer | string, message: string, kind?: BackupWarning["kind"]): void => {
    const w: BackupWarning = { path: path.toString(), message };
    if (kind !== undefined) w.kind = kind;
    warnings.push(w);
    o.onWarning?.(w);
  };
  /** Bytes of files still being read (reported chunk by chunk, so progress moves). */
  let partialBytes = 0;
  const progress = (): void =>
    o.onProgress?.({
      files: stats.files,
      dirs: stats.dirs,
      bytes: stats.bytes + partialBytes,
      processedBytes: stats.processedBytes + partialBytes,
    });
  const interrupted = (): void => {
    throwIfInterrupted(o.signal);
  };
  interrupted();

  const pipeline = new DataPipeline(repo, {
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const refs = new References(repo, pipeline.packer);
  let committed = false;
  try {
    const trees = new ParentTrees(repo);
    const parentRoot: Promise<Lookup> = parent
      ? trees.take(parent.snapshot.tree)
      : Promise.resolve(undefined);
    /** Parent node for an absolute root path (walking the parent's trees). */
    const oldRoot = async (path: Buffer): Promise<TreeNode | undefined> => {
      const parts = components(path);
      let look = await parentRoot;
      for (let i = 0; i < parts.length; i++) {
        const n = look?.get(key(parts[i]!));
        if (n === undefined || i === parts.length - 1) return n;
        look = n.subtree !== undefined ? await trees.take(n.subtree) : undefined;
      }
      return undefined;
    };

    const roots: {
      path: Buffer;
      node: Promise<TreeNode | undefined>;
      nodes?: Promise<TreeNode[]>;
    }[] = [];
    const stack: Frame[] = [];

    const fileNode = async (
      e: WalkEntry,
      old: Promise<TreeNode | undefined>,
    ): Promise<TreeNode | undefined> => {
      const node = baseNode(owners, e, "file");
      const xattrs = xattrsOf(e.path, "file", warn);
      const prev = await old;
      const size = Number(e.stat.size);
      if (
        prev?.type === "file" &&
        prev.size === size &&
        prev.mtimeNs === e.stat.mtimeNs &&
        prev.ctimeNs === e.stat.ctimeNs &&
        prev.inode === e.stat.ino &&
        prev.content !== undefined &&
        prev.content.every((id) => repo.index.has("data", id))
      ) {
        node.size = prev.size;
        node.content = prev.content;
        stats.unchangedFiles++;
      } else {
        let seen = 0;
        const { result } = await pipeline.addFile(e.path, size, (bytes) => {
          seen += bytes;
          partialBytes += bytes;
          progress();
        });
        // A pipeline failure (full disk, interruption) rejects: fatal, not a per-file warning.
        const r = await result.finally(() => {
          partialBytes -= seen;
        });
        if (r.error !== undefined) {
          warn(e.path, r.error);
          return undefined;
        }
        node.size = r.size;
        node.content = r.content;
        stats.processedBytes += r.size;
        if (prev === undefined) stats.newFiles++;
        else stats.changedFiles++;
      }
      for (const id of node.content) refs.add("data", id);
      const x = await xattrs;
      if (x.length > 0) node.xattrs = x;
      stats.files++;
      stats.bytes += node.size;
      progress();
      return node;
    };

    const otherNode = (e: WalkEntry): TreeNode | undefined => {
      switch (e.kind) {
        case "symlink": {
          if (e.linkTarget === undefined) return undefined;
          const n = baseNode(owners, e, "symlink");
          n.linkTarget = e.linkTarget;
          return n;
        }
        case "chardev":
        case "blockdev": {
          const n = baseNode(owners, e, e.kind === "chardev" ? "chardev" : "dev");
          n.rdev = Number(e.stat.rdev);
          return n;
        }
        default:
          warn(e.path, `Skipping ${e.kind} ${e.path.toString()}: not backed up`, "skipped");
          return undefined;
      }
    };

    const dirNode = async (frame: Frame): Promise<{ node: TreeNode; nodes: TreeNode[] }> => {
      const e = frame.entry;
      const xattrs = xattrsOf(e.path, "dir", warn);
      const nodes = (await Promise.all(frame.nodes)).filter((n): n is TreeNode => n !== undefined);
      const subtree = refs.saveTree(nodes);
      const node = baseNode(owners, e, "dir");
      node.subtree = subtree;
      const x = await xattrs;
      if (x.length > 0) node.xattrs = x;
      const prev = (await frame.old).node;
      if (prev?.type !== "dir") stats.newDirs++;
      else if (prev.subtree === subtree) stats.unchangedDirs++;
      else stats.changedDirs++;
      stats.dirs++;
      progress();
      return { node, nodes };
    };

    const childOld = (frame: Frame | undefined, e: WalkEntry): Promise<TreeNode | undefined> =>
      frame === undefined ? oldRoot(e.path) : frame.old.then((o) => o.children?.get(key(e.name)));

    for await (const ev of walkEvents(paths, {
      ...(o.excludes ? { excludes: o.excludes } : {}),
      ...(o.excludeFiles ? { excludeFiles: o.excludeFiles } : {}),
      ...(o.oneFileSystem === true ? { oneFileSystem: true } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      onWarning: (w) => {
        warn(w.path, w.message);
      },
    })) {
      interrupted();
      const top = stack[stack.length - 1];
      if (ev.type === "enter") {
        const old = childOld(top, ev.entry).then(async (node) => ({
          node,
          children:
            node?.type === "dir" && node.subtree !== undefined
              ? await trees.take(node.subtree)
              : undefined,
        }));
        stack.push({ entry: ev.entry, nodes: [], old });
        continue;
      }
      if (ev.type === "leave") {
        const frame = stack.pop()!;
        const done = quiet(dirNode(frame));
        const parentFrame = stack[stack.length - 1];
        if (parentFrame !== undefined) parentFrame.nodes.push(quiet(done.then((d) => d.node)));
        else
          roots.push({
            path: frame.entry.path,
            node: quiet(done.then((d) => d.node)),
            nodes: quiet(done.then((d) => d.nodes)),
          });
        continue;
      }
      const e = ev.entry;
      let node: Promise<TreeNode | undefined>;
      if (e.kind === "file") {
        const old = childOld(top, e);
        // Await admission (backpressure) here so the walk never runs far ahead of the workers.
        const prev = await old;
        node = fileNode(e, Promise.resolve(prev));
        if (
          prev === undefined ||
          prev.size !== Number(e.stat.size) ||
          prev.mtimeNs !== e.stat.mtimeNs
        )
          await pipeline.waitForRoom();
      } else {
        node = Promise.resolve(otherNode(e));
      }
      void quiet(node);
      if (top !== undefined) top.nodes.push(node);
      else roots.push({ path: e.path, node });
    }

    interrupted();
    const tree = await buildRootTree(roots, refs, owners, warn);
    interrupted();
    await pipeline.finish();
    interrupted();
    const result = await commitSnapshot(
      repo,
      pipeline.packer,
      refs,
      {
        time,
        host,
        paths,
        tags: [...(o.tags ?? [])],
        tree,
        ...(parent ? { parent: parent.id } : {}),
      },
      stats,
      o.signal,
    );
    committed = true;
    return {
      snapshotId: result.id,
      snapshot: result.snapshot,
      stats,
      warnings: warnings.length,
      warningList: warnings,
    };
  } catch (err) {
    if (!committed) await pipeline.abandon(err);
    throw err;
  } finally {
    await pipeline.close();
  }
}

/**
 * Marks a node promise as handled: when the backup fails first (full disk, interruption),
 * nobody awaits it, and its rejection must not escape as an unhandled rejection.
 */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

const NO_XATTRS: Promise<Xattr[]> = Promise.resolve([]);

/**
 * Extended attributes of a file or directory. Most entries have none: one synchronous
 * `listxattr` (a microsecond, no thread-pool hop or promise per file) answers that; entries
 * with attributes, undecodable paths and errors take `readXattrs` (which reports warnings).
 */
function xattrsOf(
  path: Buffer,
  kind: "file" | "dir",
  warn: (p: Buffer, m: string) => void,
): Promise<Xattr[]> {
  const str = path.toString("utf8");
  if (!str.includes("\uFFFD") && !str.includes("\0")) {
    try {
      if (listAttributesSync(str).length === 0) return NO_XATTRS;
    } catch {
      // fall through: readXattrs reports the problem as a warning
    }
  }
  return readXattrs(path, kind, (w) => {
    warn(w.path, w.message);
  });
}

function components(path: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 1;
  for (let i = 1; i <= path.length; i++) {
    if (i === path.length || path[i] === 0x2f) {
      if (i > start) out.push(path.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

interface VDir {
  path: Buffer;
  dirs: Map<string, VDir>;
  leaves: Promise<TreeNode | undefined>[];
  /** Nodes of a backed-up `/` (its children land at the top level). */
  rootNodes?: Promise<TreeNode[]>;
}

/** Builds the root tree that mirrors the absolute root paths, intermediate dirs from lstat. */
async function buildRootTree(
  roots: { path: Buffer; node: Promise<TreeNode | undefined>; nodes?: Promise<TreeNode[]> }[],
  refs: References,
  owners: Owners,
  warn: (p: Buffer, m: string) => void,
): Promise<string> {
  const top: VDir = { path: Buffer.from("/"), dirs: new Map(), leaves: [] };
  for (const r of roots) {
    const parts = components(r.path);
    if (parts.length === 0) {
      if (r.nodes) top.rootNodes = r.nodes;
      continue;
    }
    let d = top;
    for (const part of parts.slice(0, -1)) {
      let next = d.dirs.get(key(part));
      if (next === undefined) {
        next = {
          path: Buffer.concat([
            d.path.length === 1 ? Buffer.alloc(0) : d.path,
            Buffer.from("/"),
            part,
          ]),
          dirs: new Map(),
          leaves: [],
        };
        d.dirs.set(key(part), next);
      }
      d = next;
    }
    d.leaves.push(r.node);
  }
  const build = async (d: VDir): Promise<string> => {
    const nodes = new Map<string, TreeNode>();
    for (const n of d.rootNodes ? await d.rootNodes : []) nodes.set(key(n.name), n);
    for (const n of await Promise.all(d.leaves)) if (n !== undefined) nodes.set(key(n.name), n);
    for (const sub of d.dirs.values()) {
      const subtree = await build(sub);
      let st;
      try {
        st = toEntryStat(lstatSync(sub.path, { bigint: true }));
      } catch (err) {
        warn(
          sub.path,
          `Cannot stat ${sub.path.toString()}: ${err instanceof Error ? err.message : String(err)}`,
        );
        continue;
      }
      const name = components(sub.path).pop()!;
      const n = baseNode(owners, { name, stat: st }, "dir");
      n.subtree = subtree;
      nodes.set(key(name), n);
    }
    return refs.saveTree([...nodes.values()]);
  };
  return build(top);
}

/** Re-exported for stats consumers. */
export type { SnapshotStats };
