import { CofferError, isCofferError } from "../../core/errors.ts";
import { encodeBlob } from "../../format/blob.ts";
import { shortId } from "../../format/ids.ts";
import { encodeManifest } from "../../format/manifest.ts";
import type { Snapshot } from "../../format/snapshot.ts";
import { encodeTree, type TreeNode } from "../../format/tree.ts";
import {
  type ForgetOutcome,
  type StoredManifest,
  forgetSnapshots,
  pendingDeletions,
  readManifests,
} from "../prune/index.ts";
import { addPack, saveIndex } from "../repository/index.ts";
import { Packer } from "../backup/index.ts";
import type { Repository } from "../repository/index.ts";
import { ROOT, displayPath, joinPath } from "../repository/index.ts";
import { findUnindexedCopies } from "./unindexed.ts";
import { withRepairLock } from "./repair-lock.ts";
import { TreeRewriter } from "./tree-rewriter.ts";

/** Options of {@link repairSnapshots}. */
export interface RepairSnapshotsOptions {
  /** Forget each damaged snapshot once its repaired copy is saved (and unreadable ones). */
  forget?: boolean;
  /** Name the damage and what would be done; write nothing. */
  dryRun?: boolean;
  onEvent?: (message: string) => void;
}

/** One damaged snapshot and what the repair did. */
export interface RepairedSnapshot {
  id: string;
  /** Every damaged path (absolute in the snapshot) and what became of it. */
  paths: { path: string; what: string }[];
  /** The repaired copy (tagged `repaired`); absent in a dry run and when nothing could be saved. */
  newId?: string;
  /** Set when nothing can be saved: the snapshot object or its root listing is unreadable. */
  lost?: string;
  /** With `forget`: what happened to the original (`pending` behind a coffer gateway). */
  forgotten?: ForgetOutcome;
}

/** What {@link repairSnapshots} found and did. */
export interface RepairSnapshotsReport {
  dryRun: boolean;
  /** Snapshots examined (those pending deletion at a gateway are left out). */
  checked: number;
  damaged: RepairedSnapshot[];
  /**
   * Intact snapshots whose manifest omitted a pack they use (their data was uploaded again)
   * or named a missing one: each got one exact manifest (the old ones deleted).
   */
  manifestsRewritten: string[];
}

/** The tag a repaired copy carries (restic's). */
export const REPAIRED_TAG = "repaired";

/**
 * Rewrites every damaged snapshot without what is lost, as restic's `repair snapshots`: a
 * file keeps its readable blobs, a directory whose listing is lost becomes empty (see
 * {@link TreeRewriter}); the copy keeps the original's time, host, paths and tags, adds the
 * tag `repaired` and `meta.repairedFrom`, and gets a manifest. A blob is lost when no index
 * names it or its pack is missing from storage. With `forget` the original is then
 * forgotten as `coffer forget` does (behind a coffer gateway: a pending deletion), and a
 * snapshot with nothing to save (unreadable object or root listing) is forgotten too.
 * Refuses while an index object is damaged or a lost blob sits in a stored pack that no
 * index names: `coffer repair index` must run first, else readable data would be dropped.
 */
export async function repairSnapshots(
  repo: Repository,
  o: RepairSnapshotsOptions = {},
): Promise<RepairSnapshotsReport> {
  const log = o.onEvent ?? (() => undefined);
  const dryRun = o.dryRun === true;
  return withRepairLock(repo, dryRun, log, async () => {
    await repo.loadIndex({ verifyPacks: true });
    const bad = repo.damagedIndexes[0];
    if (bad !== undefined)
      throw new CofferError(
        "CORRUPT",
        `Cannot repair snapshots: index ${shortId(bad.id)} is damaged; run coffer repair index first`,
      );
    const pending = (await pendingDeletions(repo.storage)) ?? new Map<string, unknown>();
    const ids = (await repo.listSnapshotIds()).filter((id) => !pending.has(`snapshots/${id}`));
    const packer = new Packer(
      repo.storage,
      repo.master,
      repo.random,
      repo.index,
      repo.config.packSize,
    );
    const save = (nodes: TreeNode[]): string => {
      const blob = encodeBlob(repo.master, "tree", encodeTree(nodes), repo.random);
      const hex = blob.id.toString("hex");
      if (!dryRun) packer.add(blob, hex);
      return hex;
    };
    const rewriter = new TreeRewriter(repo, save);
    const manifests = await readManifests(repo.storage);
    for (const [id, list] of manifests)
      manifests.set(
        id,
        list.filter((m) => !pending.has(m.key)),
      );
    const report: RepairSnapshotsReport = {
      dryRun,
      checked: ids.length,
      damaged: [],
      manifestsRewritten: [],
    };
    const usable = (p: string): boolean => repo.packs.has(p) && !repo.missingPacks.has(p);
    const inexact: { id: string; snap: Snapshot; packs: Set<string> }[] = [];
    const plans: {
      id: string;
      snap: Snapshot;
      root: string;
      packs: Set<string>;
      fresh: Set<string>;
    }[] = [];
    for (const id of ids) {
      let snap: Snapshot;
      try {
        snap = await repo.loadSnapshot(id);
      } catch (err) {
        if (isCofferError(err, "SNAPSHOT_NOT_FOUND")) continue;
        if (!isCofferError(err, "CORRUPT")) throw err;
        report.damaged.push({ id, paths: [], lost: `snapshot object unreadable: ${err.message}` });
        continue;
      }
      const root = await rewriter.rewrite(snap.tree);
      if (root === undefined) {
        report.damaged.push({
          id,
          paths: [],
          lost: `root directory listing (tree ${shortId(snap.tree)}) is lost`,
        });
        continue;
      }
      if (root.id === snap.tree) {
        if (!manifestExact(manifests.get(id) ?? [], root.packs, usable))
          inexact.push({ id, snap, packs: root.packs });
        continue;
      }
      const paths = root.changes.map((c) => ({
        path: displayPath(joinPath(ROOT, c.path)),
        what: c.what,
      }));
      report.damaged.push({ id, paths });
      plans.push({ id, snap, root: root.id, packs: root.packs, fresh: root.fresh });
    }
    await refuseUnindexedCopies(repo, rewriter.lost);
    for (const d of report.damaged) {
      log(`snapshot ${shortId(d.id)}: ${d.lost ?? `${d.paths.length} damaged path(s)`}`);
      for (const p of d.paths) log(`  ${p.path}: ${p.what}`);
    }
    report.manifestsRewritten = inexact.map((x) => x.id);
    if (dryRun) return report;
    for (const x of inexact) {
      const old = (manifests.get(x.id) ?? []).map((m) => m.key);
      const key = await saveManifest(repo, x.id, x.snap, [...x.packs].sort());
      for (const k of old) if (k !== key) await repo.storage.delete(k);
      log(`snapshot ${shortId(x.id)}: manifest rewritten`);
    }

    await packer.flush();
    if (packer.indexPacks.length > 0) {
      await saveIndex(repo.storage, repo.master, repo.random, packer.indexPacks);
      for (const p of packer.indexPacks) addPack(repo.index, p);
    }
    for (const plan of plans) {
      const entry = report.damaged.find((d) => d.id === plan.id)!;
      const packs = new Set(plan.packs);
      for (const t of plan.fresh) {
        const p = packer.packOf("tree", t);
        if (p === undefined)
          throw new CofferError("CORRUPT", `Cannot write manifest: tree ${shortId(t)} has no pack`);
        packs.add(p);
      }
      entry.newId = await commitRepaired(repo, plan.id, plan.snap, plan.root, [...packs].sort());
      log(`snapshot ${shortId(plan.id)}: saved repaired snapshot ${shortId(entry.newId)}`);
    }
    if (o.forget === true) {
      const gone = report.damaged.filter((d) => d.newId !== undefined || d.lost !== undefined);
      const outcomes = await forgetSnapshots(
        repo,
        gone.map((d) => d.id),
      );
      outcomes.forEach((f, i) => {
        gone[i]!.forgotten = f;
      });
    }
    return report;
  });
}

/** Saves the repaired copy of snapshot `oldId` and its manifest; returns the new ID. */
async function commitRepaired(
  repo: Repository,
  oldId: string,
  old: Snapshot,
  tree: string,
  packs: string[],
): Promise<string> {
  const tags = old.tags.includes(REPAIRED_TAG) ? old.tags : [...old.tags, REPAIRED_TAG];
  const snapshot: Snapshot = { ...old, tree, tags, meta: { ...old.meta, repairedFrom: oldId } };
  const id = await repo.saveSnapshot(snapshot);
  await saveManifest(repo, id, snapshot, packs);
  return id;
}

/** Writes the manifest of snapshot `id` naming `packs` (sorted); returns its key. */
async function saveManifest(
  repo: Repository,
  id: string,
  snapshot: Snapshot,
  packs: string[],
): Promise<string> {
  const m = encodeManifest({
    v: 1,
    snapshot: id,
    host: snapshot.host,
    tags: snapshot.tags,
    time: snapshot.time,
    stats: snapshot.stats,
    packs,
  });
  const key = `manifests/${m.id}`;
  await repo.storage.putIfAbsent(key, m.bytes);
  return key;
}

/**
 * True when a snapshot has exactly one manifest, naming every pack it uses (`packs`) and
 * only `usable` (indexed, stored) packs: what `coffer check` accepts without a word.
 */
function manifestExact(
  list: readonly StoredManifest[],
  packs: ReadonlySet<string>,
  usable: (packId: string) => boolean,
): boolean {
  const m = list[0];
  if (list.length !== 1 || m === undefined) return false;
  const named = new Set(m.packs);
  return [...packs].every((p) => named.has(p)) && m.packs.every(usable);
}

/** Refuses when a blob counted as lost is in a stored pack that no index names. */
async function refuseUnindexedCopies(repo: Repository, lost: ReadonlySet<string>): Promise<void> {
  const found = await findUnindexedCopies(repo, lost);
  if (found !== undefined)
    throw new CofferError(
      "CORRUPT",
      `Cannot repair snapshots: pack ${shortId(found)} holds lost blobs but no index names it; run coffer repair index first`,
    );
}
