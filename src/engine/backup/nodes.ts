import type { TreeNode } from "../../format/tree.ts";
import type { Owners } from "../../fsmeta/owners.ts";
import type { WalkEntry } from "../../fsmeta/walker.ts";
import { type Xattr, readXattrs } from "../../fsmeta/xattrs.ts";
import { listAttributesSync } from "fs-xattr";
import type { BackupStats, BackupWarning, References } from "./commit.ts";
import type { DataPipeline } from "./pipeline/data-pipeline.ts";
import type { Lookup } from "./pipeline/parent-trees.ts";
import type { Repository } from "../repository/index.ts";

/** A directory being walked: its entry, its children's nodes so far, and its parent's node. */
export interface Frame {
  entry: WalkEntry;
  nodes: Promise<TreeNode | undefined>[];
  /** The parent snapshot's node for this directory and its children by name. */
  old: Promise<{ node: TreeNode | undefined; children: Lookup }>;
}

/** Progress of a running backup (counters so far). */
export interface BackupProgress {
  files: number;
  dirs: number;
  /** Bytes of files seen (read or unchanged). */
  bytes: number;
  /** Bytes actually read. */
  processedBytes: number;
}

/** Reports a warning about `path`, with an optional kind (`skipped`). */
export type Warn = (path: Buffer | string, message: string, kind?: BackupWarning["kind"]) => void;

/** Base tree node (no content/subtree) for a walked entry. */
export function baseNode(
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
 * Turns walked entries into tree nodes: files through the data pipeline (or reused from the
 * parent snapshot), directories into tree blobs, symlinks and devices as they are. Counts
 * into `stats` and reports progress as it goes.
 */
export class NodeBuilder {
  /** Bytes of files still being read (reported chunk by chunk, so progress moves). */
  partialBytes = 0;

  constructor(
    private readonly repo: Repository,
    private readonly owners: Owners,
    private readonly pipeline: DataPipeline,
    private readonly refs: References,
    private readonly stats: BackupStats,
    private readonly warn: Warn,
    private readonly onProgress?: (p: BackupProgress) => void,
  ) {}

  private progress(): void {
    this.onProgress?.({
      files: this.stats.files,
      dirs: this.stats.dirs,
      bytes: this.stats.bytes + this.partialBytes,
      processedBytes: this.stats.processedBytes + this.partialBytes,
    });
  }

  /** The node of a regular file: reused from the parent when unchanged, else read. */
  async file(e: WalkEntry, old: Promise<TreeNode | undefined>): Promise<TreeNode | undefined> {
    const node = baseNode(this.owners, e, "file");
    const xattrs = xattrsOf(e.path, "file", this.warn);
    const prev = await old;
    const size = Number(e.stat.size);
    if (
      prev?.type === "file" &&
      prev.size === size &&
      prev.mtimeNs === e.stat.mtimeNs &&
      prev.ctimeNs === e.stat.ctimeNs &&
      prev.inode === e.stat.ino &&
      prev.content !== undefined &&
      prev.content.every((id) => this.repo.index.has("data", id))
    ) {
      node.size = prev.size;
      node.content = prev.content;
      this.stats.unchangedFiles++;
    } else {
      let seen = 0;
      const { result } = await this.pipeline.addFile(e.path, size, (bytes) => {
        seen += bytes;
        this.partialBytes += bytes;
        this.progress();
      });
      // A pipeline failure (full disk, interruption) rejects: fatal, not a per-file warning.
      const r = await result.finally(() => {
        this.partialBytes -= seen;
      });
      if (r.error !== undefined) {
        this.warn(e.path, r.error);
        return undefined;
      }
      node.size = r.size;
      node.content = r.content;
      this.stats.processedBytes += r.size;
      if (prev === undefined) this.stats.newFiles++;
      else this.stats.changedFiles++;
    }
    for (const id of node.content) this.refs.add("data", id);
    const x = await xattrs;
    if (x.length > 0) node.xattrs = x;
    this.stats.files++;
    this.stats.bytes += node.size;
    this.progress();
    return node;
  }

  /** The node of a symlink or device; other kinds are skipped with a warning. */
  other(e: WalkEntry): TreeNode | undefined {
    switch (e.kind) {
      case "symlink": {
        if (e.linkTarget === undefined) return undefined;
        const n = baseNode(this.owners, e, "symlink");
        n.linkTarget = e.linkTarget;
        return n;
      }
      case "chardev":
      case "blockdev": {
        const n = baseNode(this.owners, e, e.kind === "chardev" ? "chardev" : "dev");
        n.rdev = Number(e.stat.rdev);
        return n;
      }
      default:
        this.warn(e.path, `Skipping ${e.kind} ${e.path.toString()}: not backed up`, "skipped");
        return undefined;
    }
  }

  /** The node of a directory whose children are all done, and its children. */
  async dir(frame: Frame): Promise<{ node: TreeNode; nodes: TreeNode[] }> {
    const e = frame.entry;
    const xattrs = xattrsOf(e.path, "dir", this.warn);
    const nodes = (await Promise.all(frame.nodes)).filter((n): n is TreeNode => n !== undefined);
    const subtree = this.refs.saveTree(nodes);
    const node = baseNode(this.owners, e, "dir");
    node.subtree = subtree;
    const x = await xattrs;
    if (x.length > 0) node.xattrs = x;
    const prev = (await frame.old).node;
    if (prev?.type !== "dir") this.stats.newDirs++;
    else if (prev.subtree === subtree) this.stats.unchangedDirs++;
    else this.stats.changedDirs++;
    this.stats.dirs++;
    this.progress();
    return { node, nodes };
  }
}

/**
 * Marks a node promise as handled: when the backup fails first (full disk, interruption),
 * nobody awaits it, and its rejection must not escape as an unhandled rejection.
 */
export function quiet<T>(p: Promise<T>): Promise<T> {
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

/** The components of an absolute path (`/srv/www` → `srv`, `www`). */
export function components(path: Buffer): Buffer[] {
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
