import { hostname as osHostname, userInfo } from "node:os";
import { CofferError } from "../../core/errors.ts";
import { type BlobType, encodeBlob } from "../../format/blob.ts";
import { encodeManifest } from "../../format/manifest.ts";
import { type Snapshot, type SnapshotStats } from "../../format/snapshot.ts";
import { formatTimeMs, formatTimeNs, parseTimeNs } from "../../format/time.ts";
import { type TreeNode, encodeTree } from "../../format/tree.ts";
import { addPack, saveIndex } from "../repository/index.ts";
import type { Packer } from "./pipeline/packer.ts";
import type { Repository } from "../repository/index.ts";

/** Program name recorded in snapshots. */
export const PROGRAM = "coffer 0.1.0";

/**
 * A non-fatal problem met during a backup. The CLI exits 3 when any warning is a read error;
 * skipped special files (sockets, FIFOs) alone keep exit 0, as with restic.
 */
export interface BackupWarning {
  path: string;
  message: string;
  /**
   * `"skipped"`: deliberately not backed up (a socket or FIFO); `"error"` (the default when
   * absent): could not be read, so the snapshot is incomplete.
   */
  kind?: "skipped" | "error";
}

/** What {@link backup} and the stream backups return. */
export interface BackupResult {
  snapshotId: string;
  snapshot: Snapshot;
  stats: BackupStats;
  /** Number of warnings (unreadable files, skipped sockets...). */
  warnings: number;
  warningList: BackupWarning[];
}

/** Snapshot stats: the format's required counters plus the engine's extras. */
export interface BackupStats extends SnapshotStats {
  newDirs: number;
  changedDirs: number;
  unchangedDirs: number;
  /** Bytes actually read (unchanged files are not). */
  processedBytes: number;
  addedBlobs: number;
  addedPacks: number;
}

/** Empty stats with every counter the format requires, plus the engine's extras. */
export function emptyStats(): BackupStats {
  return {
    files: 0,
    dirs: 0,
    bytes: 0,
    newFiles: 0,
    changedFiles: 0,
    unchangedFiles: 0,
    newDirs: 0,
    changedDirs: 0,
    unchangedDirs: 0,
    processedBytes: 0,
    addedBytes: 0,
    storedBytes: 0,
    addedBlobs: 0,
    addedPacks: 0,
  };
}

/** The snapshot time: `time` option (Date, ms, or RFC 3339) or the repository clock. */
export function snapshotTime(repo: Repository, time: Date | number | string | undefined): string {
  if (time === undefined) return formatTimeMs(repo.clock.now());
  if (typeof time === "string") return formatTimeNs(parseTimeNs(time));
  const ms = typeof time === "number" ? time : time.getTime();
  if (!Number.isFinite(ms)) throw new CofferError("BAD_INPUT", "Invalid backup time");
  return formatTimeMs(ms);
}

/** This process's user name (for snapshots). */
export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? "unknown");
  }
}

/** The local host name. */
export function currentHost(): string {
  return osHostname();
}

/**
 * Remembers every blob a snapshot references (so the manifest can list every pack) and
 * writes tree blobs into tree packs.
 */
export class References {
  readonly #refs = new Set<string>();

  constructor(
    private readonly repo: Repository,
    private readonly packer: Packer,
  ) {}

  /** Records a referenced blob. */
  add(type: BlobType, hex: string): void {
    this.#refs.add(type === "tree" ? `t${hex}` : `d${hex}`);
  }

  /** Encodes a directory listing as a tree blob, stores it (deduplicated), returns its ID. */
  saveTree(nodes: TreeNode[]): string {
    const blob = encodeBlob(this.repo.master, "tree", encodeTree(nodes), this.repo.random);
    const hex = blob.id.toString("hex");
    this.packer.add(blob, hex);
    this.add("tree", hex);
    return hex;
  }

  /** Pack IDs of every referenced blob (call after the packer flushed). */
  packs(): string[] {
    const out = new Set<string>();
    for (const r of this.#refs) {
      const type: BlobType = r[0] === "t" ? "tree" : "data";
      const pack = this.packer.packOf(type, r.slice(1));
      if (pack === undefined)
        throw new CofferError(
          "CORRUPT",
          `Cannot write manifest: ${type} blob ${r.slice(1, 9)} has no pack`,
        );
      out.add(pack);
    }
    return [...out].sort();
  }
}

/** Throws INTERRUPTED when `signal` is aborted (checked before each commit step). */
export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true)
    throw new CofferError("INTERRUPTED", "Backup interrupted: nothing was committed");
}

/**
 * Commits a backup in the format's order: packs (flushed by the caller's pipeline) → index →
 * snapshot → manifest. A crash before the snapshot leaves only unreferenced objects. An
 * aborted `signal` stops it before the snapshot (nothing committed) and before the manifest.
 */
export async function commitSnapshot(
  repo: Repository,
  packer: Packer,
  refs: References,
  snap: Omit<Snapshot, "v" | "stats" | "username" | "hostname" | "program">,
  stats: BackupStats,
  signal?: AbortSignal,
): Promise<{ id: string; snapshot: Snapshot }> {
  throwIfInterrupted(signal);
  await packer.flush();
  stats.addedBytes = packer.stats.rawBytes;
  stats.storedBytes = packer.stats.storedBytes;
  stats.addedBlobs = packer.stats.blobs;
  stats.addedPacks = packer.stats.packs;
  const packs = refs.packs();
  await indexFlushedPacks(repo, packer);
  const snapshot: Snapshot = {
    v: 1,
    ...snap,
    username: currentUser(),
    hostname: currentHost(),
    program: PROGRAM,
    stats,
  };
  return { id: await saveSnapshotAndManifest(repo, snapshot, packs, signal), snapshot };
}

/**
 * Writes the index of the packs `packer` has flushed and adds them to `repo`'s in-memory
 * index (the step between packs and snapshot in the commit order).
 */
export async function indexFlushedPacks(repo: Repository, packer: Packer): Promise<void> {
  if (packer.indexPacks.length === 0) return;
  await saveIndex(repo.storage, repo.master, repo.random, packer.indexPacks);
  for (const p of packer.indexPacks) {
    addPack(repo.index, p);
    if (!repo.packs.has(p.id)) repo.packs.set(p.id, { id: p.id, type: p.type, size: p.size });
  }
}

/**
 * The last two steps of the commit order: the snapshot, then its manifest naming `packs`
 * (every pack its tree references). An aborted `signal` stops it before the snapshot.
 * Returns the snapshot's ID.
 */
export async function saveSnapshotAndManifest(
  repo: Repository,
  snapshot: Snapshot,
  packs: string[],
  signal?: AbortSignal,
): Promise<string> {
  throwIfInterrupted(signal);
  const id = await repo.saveSnapshot(snapshot);
  const manifest = encodeManifest({
    v: 1,
    snapshot: id,
    host: snapshot.host,
    tags: snapshot.tags,
    time: snapshot.time,
    stats: snapshot.stats,
    packs,
  });
  await repo.storage.putIfAbsent(`manifests/${manifest.id}`, manifest.bytes);
  return id;
}
