import { CofferError } from "../core/errors.ts";
import {
  Packer,
  References,
  indexFlushedPacks,
  saveSnapshotAndManifest,
  throwIfInterrupted,
} from "../engine/backup/index.ts";
import {
  type FoundSnapshot,
  type SnapshotFilter,
  compareSnapshots,
  findSnapshot,
  listSnapshots,
} from "../engine/browse/index.ts";
import type { Repository } from "../engine/repository/index.ts";
import type { Snapshot } from "../format/snapshot.ts";
import type { TreeNode } from "../format/tree.ts";
import { ContentMap, seedContentMap } from "./content-map.ts";
import { type RechunkStats, rechunkFile } from "./rechunk.ts";

/** Snapshot meta key naming the source snapshot a copy was made from (restic's `original`). */
export const ORIGINAL_META = "original";

/** What to copy and how. */
export interface CopyOptions {
  /** Snapshot references (ID prefixes, `latest`); none: every snapshot matching `filter`. */
  refs?: readonly string[];
  filter?: SnapshotFilter;
  signal?: AbortSignal;
  /** Called after each source snapshot is handled. */
  onSnapshot?: (e: CopiedSnapshot) => void;
}

/** One source snapshot's outcome. */
export interface CopiedSnapshot {
  source: string;
  destination: string;
  snapshot: Snapshot;
  /** False: the destination already held a copy of it (nothing was written). */
  copied: boolean;
  blobsAdded: number;
  bytesAdded: number;
}

/** What {@link copySnapshots} did. */
export interface CopyResult {
  snapshots: CopiedSnapshot[];
  /** Blobs (data and tree) the destination lacked and got. */
  blobsAdded: number;
  /** Raw bytes of those blobs. */
  bytesAdded: number;
  /** Sealed bytes uploaded (pack headers excluded). */
  bytesStored: number;
  packsAdded: number;
  /** Plaintext bytes of file contents read from the source (files met before are not). */
  bytesRead: number;
}

/**
 * Copies snapshots from `src` to `dst` (two repositories with their own keys; ADR 0016).
 * Blob IDs are keyed MACs and chunk boundaries depend on the chunker seed, so every file is
 * re-chunked under the destination's chunker and MAC key (deduplicating against all the
 * destination holds), and trees are rewritten with the new IDs. Each snapshot is committed
 * as a backup is (packs → index → snapshot → manifest), so the destination's gateway can
 * run retention on it, and a kill loses at most the snapshot in flight (its packs are
 * garbage for `prune`). The copy records `meta.original` = the source ID: a snapshot whose
 * copy the destination holds is skipped, so a second run writes nothing.
 */
export async function copySnapshots(
  src: Repository,
  dst: Repository,
  o: CopyOptions = {},
): Promise<CopyResult> {
  if (src.id === dst.id)
    throw new CofferError(
      "BAD_INPUT",
      "Cannot copy: source and destination are the same repository",
    );
  await src.ensureIndex();
  await dst.ensureIndex({ verifyPacks: true }); // never deduplicate against a missing pack
  const chosen = await selectSnapshots(src, o);
  const existing = await listSnapshots(dst);
  const copyOf = new Map<string, FoundSnapshot>();
  for (const d of existing) {
    const orig = d.snapshot.meta?.[ORIGINAL_META];
    if (orig !== undefined) copyOf.set(orig, d);
  }
  const dstIds = new Set(existing.map((d) => d.id));
  const result: CopyResult = {
    snapshots: [],
    blobsAdded: 0,
    bytesAdded: 0,
    bytesStored: 0,
    packsAdded: 0,
    bytesRead: 0,
  };
  const contents = new ContentMap();
  const seeded = new Set<string>();
  for (const s of chosen) {
    throwIfInterrupted(o.signal);
    const already =
      copyOf.get(s.id) ??
      lookupBack(s.snapshot, dstIds, existing) ??
      copyOf.get(s.snapshot.meta?.[ORIGINAL_META] ?? "");
    if (already !== undefined) {
      const e = {
        source: s.id,
        destination: already.id,
        snapshot: s.snapshot,
        copied: false,
        blobsAdded: 0,
        bytesAdded: 0,
      };
      result.snapshots.push(e);
      o.onSnapshot?.(e);
      continue;
    }
    // Files unchanged since the newest copy of this host and paths are not read again.
    const group = `${s.snapshot.host}\n${s.snapshot.paths.join("\n")}`;
    if (!seeded.has(group)) {
      seeded.add(group);
      const prior = [...copyOf.entries()]
        .filter(([, d]) => `${d.snapshot.host}\n${d.snapshot.paths.join("\n")}` === group)
        .sort((a, b) => compareSnapshots(a[1], b[1]))
        .at(-1);
      if (prior !== undefined) {
        try {
          const orig = await src.loadSnapshot(prior[0]);
          await seedContentMap(contents, src, orig.tree, dst, prior[1].snapshot.tree);
        } catch {
          // the original is gone or unreadable: nothing to seed from
        }
      }
    }
    const e = await copyOne(src, dst, s, copyOf, contents, result, o.signal);
    copyOf.set(s.id, { id: e.destination, snapshot: e.snapshot });
    result.snapshots.push(e);
    o.onSnapshot?.(e);
  }
  return result;
}

/** A source snapshot that is itself a copy of a destination snapshot (copied back). */
function lookupBack(
  s: Snapshot,
  dstIds: Set<string>,
  existing: FoundSnapshot[],
): FoundSnapshot | undefined {
  const orig = s.meta?.[ORIGINAL_META];
  if (orig === undefined || !dstIds.has(orig)) return undefined;
  return existing.find((d) => d.id === orig);
}

async function selectSnapshots(src: Repository, o: CopyOptions): Promise<FoundSnapshot[]> {
  const refs = o.refs ?? [];
  if (refs.length === 0) return listSnapshots(src, o.filter ?? {});
  const out = new Map<string, FoundSnapshot>();
  for (const r of refs) {
    const f = await findSnapshot(src, r, o.filter ?? {});
    out.set(f.id, f);
  }
  return [...out.values()].sort(compareSnapshots);
}

async function copyOne(
  src: Repository,
  dst: Repository,
  s: FoundSnapshot,
  copyOf: Map<string, FoundSnapshot>,
  contents: ContentMap,
  result: CopyResult,
  signal: AbortSignal | undefined,
): Promise<CopiedSnapshot> {
  const packer = new Packer(dst.storage, dst.master, dst.random, dst.index, dst.config.packSize);
  const refs = new References(dst, packer);
  const stats: RechunkStats = { bytesRead: 0 };
  const translate = async (treeId: string, path: string): Promise<string> => {
    const nodes = await src.loadTree(treeId);
    const out: TreeNode[] = [];
    for (const n of nodes) {
      const name = `${path}/${n.name.toString()}`;
      const copy: TreeNode = { ...n };
      if (n.type === "dir" && n.subtree !== undefined) {
        copy.subtree = await translate(n.subtree, name);
      } else if (n.type === "file" && n.content !== undefined) {
        let content = contents.get(n.content);
        if (content === undefined) {
          content = await rechunkFile(src, dst, packer, n.content, n.size, name, stats, signal);
          contents.set(n.content, content);
        }
        for (const id of content) refs.add("data", id);
        copy.content = content;
      }
      out.push(copy);
    }
    return refs.saveTree(out);
  };
  let root: string;
  try {
    root = await translate(s.snapshot.tree, "");
    throwIfInterrupted(signal);
    await packer.flush();
  } catch (err) {
    await packer.abandon(err);
    throw err;
  }
  const packs = refs.packs();
  await indexFlushedPacks(dst, packer);
  const parentCopy = s.snapshot.parent === undefined ? undefined : copyOf.get(s.snapshot.parent);
  const rest: Snapshot = { ...s.snapshot };
  delete rest.parent;
  const snapshot: Snapshot = {
    ...rest,
    tree: root,
    ...(parentCopy !== undefined ? { parent: parentCopy.id } : {}),
    stats: {
      ...s.snapshot.stats,
      addedBytes: packer.stats.rawBytes,
      storedBytes: packer.stats.storedBytes,
    },
    meta: { ...s.snapshot.meta, [ORIGINAL_META]: s.id },
  };
  const id = await saveSnapshotAndManifest(dst, snapshot, packs, signal);
  result.blobsAdded += packer.stats.blobs;
  result.bytesAdded += packer.stats.rawBytes;
  result.bytesStored += packer.stats.storedBytes;
  result.packsAdded += packer.stats.packs;
  result.bytesRead += stats.bytesRead;
  return {
    source: s.id,
    destination: id,
    snapshot,
    copied: true,
    blobsAdded: packer.stats.blobs,
    bytesAdded: packer.stats.rawBytes,
  };
}
