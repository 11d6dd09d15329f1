import { resolve } from "node:path";
import { CofferError } from "../../core/errors.ts";
import type { SnapshotStats } from "../../format/snapshot.ts";
import type { TreeNode } from "../../format/tree.ts";
import { Owners } from "../../fsmeta/owners.ts";
import { type WalkEntry, walkEvents } from "../../fsmeta/walker.ts";
import {
  type BackupResult,
  type BackupWarning,
  References,
  commitSnapshot,
  currentHost,
  emptyStats,
  snapshotTime,
  throwIfInterrupted,
} from "./commit.ts";
import { type BackupProgress, type Frame, NodeBuilder, type Warn, quiet } from "./nodes.ts";
import { findParent, parentNodeAt } from "./parent.ts";
import { type RootEntry, buildRootTree } from "./root-tree.ts";
import { DataPipeline } from "./pipeline/data-pipeline.ts";
import { type Lookup, ParentTrees, nameKey } from "./pipeline/parent-trees.ts";
import type { Repository } from "../repository/index.ts";

export type { BackupResult, BackupWarning } from "./commit.ts";
export { findParent } from "./parent.ts";
export type { BackupProgress } from "./nodes.ts";

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
  const warn: Warn = (path, message, kind) => {
    const w: BackupWarning = { path: path.toString(), message };
    if (kind !== undefined) w.kind = kind;
    warnings.push(w);
    o.onWarning?.(w);
  };
  const interrupted = (): void => {
    throwIfInterrupted(o.signal);
  };
  interrupted();

  const pipeline = new DataPipeline(repo, {
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const refs = new References(repo, pipeline.packer);
  const build = new NodeBuilder(repo, owners, pipeline, refs, stats, warn, o.onProgress);
  let committed = false;
  try {
    const trees = new ParentTrees(repo);
    const parentRoot: Promise<Lookup> = parent
      ? trees.take(parent.snapshot.tree)
      : Promise.resolve(undefined);
    /** Parent node for an absolute root path (walking the parent's trees). */
    const oldRoot = (path: Buffer): Promise<TreeNode | undefined> =>
      parentNodeAt(trees, parentRoot, path);

    const roots: RootEntry[] = [];
    const stack: Frame[] = [];

    const childOld = (frame: Frame | undefined, e: WalkEntry): Promise<TreeNode | undefined> =>
      frame === undefined
        ? oldRoot(e.path)
        : frame.old.then((o) => o.children?.get(nameKey(e.name)));

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
        const done = quiet(build.dir(frame));
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
        node = build.file(e, Promise.resolve(prev));
        if (
          prev === undefined ||
          prev.size !== Number(e.stat.size) ||
          prev.mtimeNs !== e.stat.mtimeNs
        )
          await pipeline.waitForRoom();
      } else {
        node = Promise.resolve(build.other(e));
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

/** Re-exported for stats consumers. */
export type { SnapshotStats };
