import { CofferError, isCofferError } from "../../core/errors.ts";
import type { EncodedBlob } from "../../format/blob.ts";
import { shortId } from "../../format/ids.ts";
import type { IndexPack } from "../../format/index-file.ts";
import { packKey } from "../../format/pack.ts";
import { saveIndex } from "../repository/index.ts";
import { collect, mapLimit } from "../../core/parallel.ts";
import type { Repository } from "../repository/index.ts";
import { packEntryFromHeader, readIndexObjects } from "./pack-entries.ts";
import { readWholePack, salvageBlobs } from "./salvage.ts";
import { withRepairLock } from "./repair-lock.ts";

/** Options of {@link repairIndex}. */
export interface RepairIndexOptions {
  /** Say what would change; write and delete nothing (and take no lock). */
  dryRun?: boolean;
  /**
   * Download every pack whole (restic's `--read-all-packs`): an intact one is indexed from its
   * header; a damaged one (SHA-256 not its name) is left out, the blobs that still verify
   * copied into new packs first.
   */
  readAllPacks?: boolean;
  /** Progress and decisions, one line each. */
  onEvent?: (message: string) => void;
  /** Most blobs per new index object (default 200,000: about 25 MB of index JSON). */
  maxBlobsPerIndex?: number;
}

/** What {@link repairIndex} found and did. */
export interface RepairIndexReport {
  dryRun: boolean;
  /** Index objects read (readable and damaged). */
  oldIndexes: number;
  /** Index objects that cannot be decoded. */
  damagedIndexes: { id: string; message: string }[];
  /** Stored packs now indexed. */
  packs: number;
  /** Stored packs whose entry was rebuilt from their header (no readable index agreed). */
  rebuiltPacks: string[];
  /** Packs an index named that storage does not hold: their blobs are no longer indexed. */
  removedPacks: string[];
  /** Stored packs whose header cannot be read: left out (prune removes them as unindexed). */
  invalidPacks: { id: string; message: string }[];
  /** With `readAllPacks`: damaged packs left out, their `kept` intact blobs copied to new packs. */
  salvaged: { id: string; message: string; kept: number; lost: number }[];
  /** New index objects written (the last one supersedes every old one). */
  newIndexes: string[];
  /** Old index objects deleted; behind a coffer gateway a deletion is pending instead. */
  deletedIndexes: number;
  pendingIndexDeletions: number;
  /** True when the indexes already matched storage: nothing was written. */
  unchanged: boolean;
}

const msg = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Rebuilds the index from the packs that exist, as restic's `repair index`: every stored
 * pack is indexed (from a readable index that describes it with its stored size, else from
 * its own sealed header), packs no longer in storage are dropped, damaged index objects are
 * replaced. The new index objects are written first, the last one listing every old index in
 * `supersedes`, so readers ignore the old ones at once; the old ones are deleted afterwards.
 * Behind a coffer gateway a DELETE is only a pending deletion: the old objects stay listed
 * until it executes, superseded (and a damaged one is superseded by ID, so it is never
 * reported again). A crash anywhere leaves a valid repository. Held under the prune lock.
 */
export async function repairIndex(
  repo: Repository,
  o: RepairIndexOptions = {},
): Promise<RepairIndexReport> {
  const log = o.onEvent ?? (() => undefined);
  return withRepairLock(repo, o.dryRun === true, log, async () => {
    // Indexes first, then packs: an index only names packs stored before it was written.
    const old = await readIndexObjects(repo.storage, repo.master);
    const stored = new Map<string, number>();
    for (const x of await collect(repo.storage.list("data/"))) {
      const id = x.key.slice(x.key.lastIndexOf("/") + 1);
      if (x.key === packKey(id)) stored.set(id, x.size);
    }
    const described = new Map<string, IndexPack[]>();
    for (const f of old.readable)
      for (const p of f.packs) described.set(p.id, [...(described.get(p.id) ?? []), p]);
    const report: RepairIndexReport = {
      dryRun: o.dryRun === true,
      oldIndexes: old.ids.length,
      damagedIndexes: old.damaged,
      packs: 0,
      rebuiltPacks: [],
      removedPacks: [...described.keys()].filter((id) => !stored.has(id)).sort(),
      invalidPacks: [],
      salvaged: [],
      newIndexes: [],
      deletedIndexes: 0,
      pendingIndexDeletions: 0,
      unchanged: false,
    };
    if (stored.size === 0 && described.size > 0)
      throw new CofferError(
        "CORRUPT",
        `Cannot repair index: storage lists none of the ${described.size} indexed packs under data/ (wrong repository location?)`,
      );
    const ids = [...stored.keys()].sort();
    const rescue: EncodedBlob[] = [];
    const entries = await mapLimit(ids, o.readAllPacks === true ? 2 : 8, async (id) => {
      const size = stored.get(id) ?? 0;
      const known = described.get(id)?.find((p) => p.size === size);
      if (known !== undefined && o.readAllPacks !== true) return known;
      try {
        if (o.readAllPacks === true) {
          const v = await readWholePack(repo.storage, repo.master, id);
          if (v.ok) return v.entry;
          if (v.good.length + v.lost === 0) report.invalidPacks.push({ id, message: v.why });
          else report.salvaged.push({ id, message: v.why, kept: v.good.length, lost: v.lost });
          rescue.push(...v.good);
          return undefined;
        }
        const p = await packEntryFromHeader(repo.storage, repo.master, id, size);
        if (known === undefined) report.rebuiltPacks.push(id);
        return p;
      } catch (err) {
        if (isCofferError(err, "NOT_FOUND")) return undefined; // deleted meanwhile
        if (!isCofferError(err, "CORRUPT")) throw err;
        report.invalidPacks.push({ id, message: msg(err) });
        return undefined;
      }
    });
    const packs = entries.filter((p): p is IndexPack => p !== undefined);
    report.packs = packs.length;
    report.rebuiltPacks.sort();
    report.invalidPacks.sort((a, b) => (a.id < b.id ? -1 : 1));
    report.salvaged.sort((a, b) => (a.id < b.id ? -1 : 1));
    // Nothing to fix: every old index is readable and describes exactly the stored packs.
    const superseded = new Set(old.readable.flatMap((f) => f.supersedes));
    const liveReadable = old.readable.filter((f) => !superseded.has(f.id));
    const indexedNow = new Set(liveReadable.flatMap((f) => f.packs.map((p) => p.id)));
    report.unchanged =
      old.damaged.every((d) => superseded.has(d.id)) &&
      report.removedPacks.length === 0 &&
      report.invalidPacks.length === 0 &&
      report.salvaged.length === 0 &&
      o.readAllPacks !== true &&
      packs.every((p) => indexedNow.has(p.id));
    if (report.unchanged || o.dryRun === true) return report;
    if (rescue.length > 0) {
      const copies = await salvageBlobs(
        repo.storage,
        repo.master,
        repo.random,
        repo.config.packSize,
        packs,
        rescue,
      );
      packs.push(...copies);
      report.packs = packs.length;
      log(
        `copied ${rescue.length} intact blob(s) of damaged packs into ${copies.length} new pack(s)`,
      );
    }

    const max = Math.max(1, o.maxBlobsPerIndex ?? 200_000);
    const groups: IndexPack[][] = [[]];
    let blobs = 0;
    for (const p of packs) {
      if (blobs > 0 && blobs + p.blobs.length > max) {
        groups.push([]);
        blobs = 0;
      }
      groups[groups.length - 1]!.push(p);
      blobs += p.blobs.length;
    }
    for (const [i, g] of groups.entries()) {
      const last = i === groups.length - 1;
      const id = await saveIndex(repo.storage, repo.master, repo.random, g, last ? old.ids : []);
      report.newIndexes.push(id);
      log(
        `wrote index ${shortId(id)} (${g.length} packs${last ? `, supersedes ${old.ids.length} old index object(s)` : ""})`,
      );
    }
    const fresh = new Set(report.newIndexes);
    const obsolete = old.ids.filter((id) => !fresh.has(id));
    for (const id of obsolete) await repo.storage.delete(`index/${id}`);
    const left = new Set((await collect(repo.storage.list("index/"))).map((x) => x.key.slice(6)));
    report.pendingIndexDeletions = obsolete.filter((id) => left.has(id)).length;
    report.deletedIndexes = obsolete.length - report.pendingIndexDeletions;
    if (report.pendingIndexDeletions > 0)
      log(
        `${report.pendingIndexDeletions} old index object(s) pending deletion at the gateway (superseded meanwhile)`,
      );
    await repo.loadIndex();
    return report;
  });
}
