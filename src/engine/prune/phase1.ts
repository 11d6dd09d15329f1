import { CofferError } from "../../core/errors.ts";
import { shortId } from "../../format/ids.ts";
import { readManifests } from "./forget.ts";
import { accountUsage, blobKey } from "./accounting.ts";
import { PruneIndexes } from "./indexes.ts";
import { damagedIndexError } from "./guard.ts";
import { manifestJobs, rewriteManifests } from "./manifests.ts";
import { writePlan } from "./plan.ts";
import { selectPacks, type UnusedLimit } from "./select.ts";
import { walkSnapshots } from "./usage.ts";
import { repackPacks } from "./repack.ts";
import type { Repository } from "../repository/index.ts";

/** Options of {@link planPrune}. */
export interface PlanPruneOptions {
  now: number;
  graceMs: number;
  dryRun: boolean;
  maxUnused: UnusedLimit;
  maxRepackBytes?: number;
  repackSmall: boolean;
  /** Candidates of plans still waiting: neither counted, repacked nor planned again. */
  planned: ReadonlySet<string>;
  /** Index objects already decoded by this prune (phase 2); default none. */
  indexFiles?: PruneIndexes;
  log: (message: string) => void;
}

/** What {@link planPrune} found and did. */
export interface PlanPruneResult {
  usedBytes: number;
  unusedBytes: number;
  unusedAfterBytes: number;
  repacked: { packs: number; blobs: number; bytes: number; newPacks: number };
  manifestsRewritten: number;
  /** Packs for the new plan: wholly unused ones and repacked ones. */
  candidates: { id: string; size: number }[];
  repackedIds: string[];
  plan?: { key: string; candidates: number; bytes: number; executableAfter: string };
}

/**
 * Phase 1 of a prune: accounts which blobs the snapshots use (a walk of every tree),
 * selects packs to delete whole and packs to repack (see `selectPacks`), copies the used
 * blobs of the latter into new packs and indexes them, rewrites the manifests that name a
 * pack about to go (new manifest first, then the old ones deleted), and only then writes a
 * prune plan listing the removed and repacked packs. Phase 2 (a later prune after the
 * grace period) deletes them. Each step leaves a valid repository when interrupted: new
 * packs without index are unreferenced garbage; indexed new packs are duplicates the next
 * prune resolves in their favour (see `accountUsage`); a snapshot briefly has two manifests.
 */
export async function planPrune(repo: Repository, o: PlanPruneOptions): Promise<PlanPruneResult> {
  // Order matters with concurrent backups: a snapshot listed here had its packs and index
  // written before, so the index and pack listings that follow cover it.
  const snapshotIds = await repo.listSnapshotIds();
  await repo.loadIndex();
  const damaged = repo.damagedIndexes[0];
  if (damaged !== undefined) throw damagedIndexError("prune", damaged);
  const manifests = await readManifests(repo.storage);
  const storedList = await repo.listPackObjects();
  const stored = new Map(storedList.map((p) => [p.id, p.size]));
  const walk = await walkSnapshots(repo, snapshotIds);
  const usage = accountUsage(
    await (o.indexFiles ?? new PruneIndexes(repo)).live(repo.indexIds),
    stored,
    walk.used,
    o.planned,
  );
  const miss = usage.missing[0];
  if (miss !== undefined)
    throw new CofferError(
      "CORRUPT",
      `Cannot prune: the snapshots use ${usage.missing.length} blob(s) that no stored pack holds (e.g. ${miss.type} blob ${shortId(miss.id)}); run coffer repair index, then coffer repair snapshots --forget`,
    );
  const sel = selectPacks(
    [...usage.packs.values()].filter((p) => !o.planned.has(p.id)),
    usage.unindexed.filter((p) => !o.planned.has(p.id)),
    {
      maxUnused: o.maxUnused,
      repackSmall: o.repackSmall,
      packSize: repo.config.packSize,
      ...(o.maxRepackBytes !== undefined ? { maxRepackBytes: o.maxRepackBytes } : {}),
    },
  );
  const repackedIds = sel.repack.map((p) => p.id);
  const removed = new Set([...sel.remove.map((p) => p.id), ...repackedIds]);
  const jobs = manifestJobs(walk.snapshots, manifests, removed, new Set(stored.keys()));
  const result: PlanPruneResult = {
    usedBytes: sel.usedBytes,
    unusedBytes: sel.unusedBytes,
    unusedAfterBytes: sel.unusedAfter,
    repacked: {
      packs: sel.repack.length,
      blobs: sel.repack.reduce((n, p) => n + p.used.length, 0),
      bytes: sel.repackUsedBytes,
      newPacks: 0,
    },
    manifestsRewritten: jobs.length,
    candidates: [...sel.remove, ...sel.repack.map((p) => ({ id: p.id, size: p.size }))],
    repackedIds,
  };
  if (o.dryRun) {
    if (result.candidates.length > 0) result.plan = planSummary("(dry run)", result, o);
    return result;
  }

  const rp = await repackPacks(repo, sel.repack, {
    packSize: repo.config.packSize,
    onEvent: o.log,
  });
  result.repacked.newPacks = rp.packs.length;
  const moved = new Map<string, string>();
  for (const p of rp.packs) for (const b of p.blobs) moved.set(blobKey(p.type, b[0]), p.id);
  const packOf = (type: "data" | "tree", id: string): string | undefined => {
    const k = blobKey(type, id);
    const c = usage.chosen.get(k);
    if (c === undefined) return undefined;
    return removed.has(c.packId) ? moved.get(k) : c.packId;
  };
  result.manifestsRewritten = await rewriteManifests(repo, jobs, walk.trees, packOf);
  if (jobs.length > 0) o.log(`rewrote ${jobs.length} manifest(s)`);

  // A manifest that appeared meanwhile (a concurrent backup) keeps what it names.
  const named = new Set<string>();
  for (const list of (await readManifests(repo.storage)).values())
    for (const m of list) for (const p of m.packs) named.add(p);
  result.candidates = result.candidates.filter((c) => !named.has(c.id));
  if (result.candidates.length > 0) {
    const plan = await writePlan(repo.storage, repo.random, {
      createdAt: o.now,
      graceMs: o.graceMs,
      indexIds: await repo.listIndexIds(),
      candidates: result.candidates,
    });
    result.plan = planSummary(plan.key, result, o);
  }
  return result;
}

function planSummary(
  key: string,
  r: PlanPruneResult,
  o: PlanPruneOptions,
): NonNullable<PlanPruneResult["plan"]> {
  return {
    key,
    candidates: r.candidates.length,
    bytes: r.candidates.reduce((n, c) => n + c.size, 0),
    executableAfter: new Date(o.now + o.graceMs).toISOString(),
  };
}
