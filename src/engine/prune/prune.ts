import { CofferError } from "../../core/errors.ts";
import { shortId } from "../../format/ids.ts";
import type { IndexPack } from "../../format/index-file.ts";
import { packKey } from "../../format/pack.ts";
import { readManifests, type StoredManifest } from "./forget.ts";
import { saveIndex } from "../repository/index.ts";
import { PruneIndexes } from "./indexes.ts";
import { assertPrunable } from "./guard.ts";
import { planPrune } from "./phase1.ts";
import { readPlans } from "./plan.ts";
import { DEFAULT_MAX_UNUSED, type UnusedLimit } from "./select.ts";
import { withPruneLock, type PruneLockOptions } from "./lock.ts";
import { Repository } from "../repository/index.ts";
import { stoppableStorage } from "./stoppable-storage.ts";

/** Default grace between a prune plan and its execution: longer than any backup. */
export const DEFAULT_PRUNE_GRACE_MS = 6 * 3_600_000;

/** Options of {@link prune}. */
export interface PruneOptions {
  /** Current time (ms); default the repository clock. */
  now?: number;
  /** Phase 2 runs for plans older than this (default 6 h); it must exceed the longest backup. */
  graceMs?: number;
  dryRun?: boolean;
  onEvent?: (message: string) => void;
  /** Unused space tolerated after the prune (default 5 %; `unlimited` never repacks). */
  maxUnused?: UnusedLimit;
  /** Cap on the stored bytes of the packs repacked in one run. */
  maxRepackBytes?: number;
  /** Also repack packs below 80 % of the pack size (when there are two or more). */
  repackSmall?: boolean;
  /** SIGINT/SIGTERM: the prune stops at its next storage step (crash-safe), releasing its lock. */
  signal?: AbortSignal;
  /** Prune lock settings (docs/format.md "Locks"); the defaults are this process and restic's times. */
  lock?: Pick<
    PruneLockOptions,
    "owner" | "alive" | "refreshMs" | "staleMs" | "pollMs" | "maxWaitMs"
  >;
}

/** What {@link prune} did. */
export interface PruneReport {
  /** Nothing was written (`dryRun`): the figures say what a real run would do. */
  dryRun: boolean;
  referencedPacks: number;
  totalPacks: number;
  /** Phase 2: packs deleted, and bytes freed. */
  deletedPacks: string[];
  freedBytes: number;
  /** Candidates of executed plans that a new manifest or index still needs. */
  rescued: string[];
  /** Index objects rewritten (superseded and deleted). */
  rewrittenIndexes: number;
  /** Phase 1: the plan written now (undefined when nothing was unreferenced). */
  plan?: { key: string; candidates: number; bytes: number; executableAfter: string };
  /** Plans still within their grace period. */
  waitingPlans: number;
  /** Manifests whose snapshot is gone, deleted. */
  orphanManifests: number;
  /** Sealed bytes of used blobs, and of everything else, before (planned packs excluded). */
  usedBytes: number;
  unusedBytes: number;
  /** Unused bytes left once this run's plan is executed. */
  unusedAfterBytes: number;
  /** Partly used (or small) packs whose used blobs were copied into `newPacks` new packs. */
  repacked: { packs: number; blobs: number; bytes: number; newPacks: number };
  /** Manifests recomputed because a pack they named is planned for deletion. */
  manifestsRewritten: number;
  /** Temp files of writers that died mid-write, removed (local repositories; not in a dry run). */
  staleTempFiles: number;
}

/** Packs referenced by snapshots: manifests, else a walk of the snapshot's trees. */
async function referencedPacks(
  repo: Repository,
  manifests: Map<string, StoredManifest[]>,
): Promise<{ packs: Set<string>; orphans: string[] }> {
  const snapshots = new Set(await repo.listSnapshotIds());
  const packs = new Set<string>();
  const orphans: string[] = [];
  for (const [id, list] of manifests) {
    if (!snapshots.has(id)) {
      orphans.push(...list.map((m) => m.key));
      continue;
    }
    for (const m of list) for (const p of m.packs) packs.add(p);
  }
  const seenTrees = new Set<string>();
  for (const id of snapshots) {
    if (manifests.has(id)) continue;
    // No manifest yet (a backup between snapshot and manifest, or an old crash): walk it.
    await repo.ensureIndex();
    const snap = await repo.loadSnapshot(id);
    const stack = [snap.tree];
    while (stack.length > 0) {
      const t = stack.pop() as string;
      if (seenTrees.has(t)) continue;
      seenTrees.add(t);
      const loc = repo.locate("tree", t);
      if (loc !== undefined) packs.add(loc.packId);
      for (const n of await repo.loadTree(t)) {
        if (n.subtree !== undefined) stack.push(n.subtree);
        for (const b of n.content ?? []) {
          const l = repo.locate("data", b);
          if (l !== undefined) packs.add(l.packId);
        }
      }
    }
  }
  return { packs, orphans };
}

/**
 * Two-phase prune for client-managed repositories, safe while backups run (no lock):
 * 1. **Plan** (`planPrune`): a walk of every snapshot's trees says which blobs are used;
 *    wholly unused packs are planned for deletion, partly used (and, with `repackSmall`,
 *    small) packs are repacked until at most `maxUnused` stays unused: their used blobs are
 *    verified and copied into new packs with a new index, manifests naming a pack about to
 *    go are recomputed, and only then are the old packs written as candidates in a new
 *    `prune/<time>-<rand>.json`. From then on every backup's index load excludes them
 *    from deduplication (index-store.ts), so only a backup already running can still
 *    reference one, and it commits within the grace period.
 * 2. **Execute** (a later run, after `graceMs`): each candidate that no manifest/snapshot
 *    references now and no index written after the plan names is deleted; index objects
 *    naming deleted packs are rewritten (a new index with `supersedes`, then the old ones
 *    deleted); the plan is deleted last. Interrupted anywhere, the next run completes it.
 *
 * Two prunes never run at once: a prune first takes the repository's prune lock
 * (`locks/prune-*.json`, prune-lock.ts; LOCKED naming the holder when another prune has it),
 * refreshes it while it runs and releases it in a `finally`. Backups never see it. A dry run
 * takes no lock. `signal` (and a lost lock) stop the prune at its next storage step.
 */
export async function prune(repo: Repository, o: PruneOptions = {}): Promise<PruneReport> {
  // A dry run writes nothing, so it takes no lock (and works on read-only storage).
  if (o.dryRun === true) return pruneLocked(repo, o);
  const log = o.onEvent ?? (() => undefined);
  const stop = new AbortController();
  const interrupt = (): void => {
    stop.abort(
      new CofferError(
        "INTERRUPTED",
        "Prune interrupted: the repository is whole, the next prune completes the work",
      ),
    );
  };
  if (o.signal?.aborted === true) interrupt();
  o.signal?.addEventListener("abort", interrupt, { once: true });
  try {
    const lockOptions = {
      clock: repo.clock,
      random: repo.random,
      onEvent: log,
      signal: stop.signal,
      ...o.lock,
    };
    return await withPruneLock(repo.storage, lockOptions, async (lock) => {
      const lost = (): void => {
        stop.abort(lock.signal.reason);
      };
      lock.signal.addEventListener("abort", lost, { once: true });
      try {
        // Every storage step after an interrupt or a lost lock fails, as a crash would there.
        const work = await Repository.openWithMasterKey(
          stoppableStorage(repo.storage, stop.signal),
          repo.master,
          repo.id,
          { clock: repo.clock, random: repo.random },
        );
        work.cache = repo.cache; // index, snapshots and tree packs (remote repositories)
        // Leftovers of a backup or prune killed mid-write (never a live writer's files).
        const staleTempFiles = (await repo.storage.cleanupTemp?.()) ?? 0;
        if (staleTempFiles > 0)
          log(
            `removed ${String(staleTempFiles)} stale temp file${staleTempFiles === 1 ? "" : "s"} left by an interrupted run`,
          );
        return { ...(await pruneLocked(work, o)), staleTempFiles };
      } catch (err) {
        // Stopped: the one-line reason, not whatever step happened to fail on it.
        if (stop.signal.aborted) throw stop.signal.reason;
        throw err;
      } finally {
        lock.signal.removeEventListener("abort", lost);
      }
    });
  } finally {
    o.signal?.removeEventListener("abort", interrupt);
  }
}

/** {@link prune} once the lock is held (or for a dry run). */
async function pruneLocked(repo: Repository, o: PruneOptions): Promise<PruneReport> {
  const now = o.now ?? repo.clock.now();
  const grace = o.graceMs ?? DEFAULT_PRUNE_GRACE_MS;
  const log = o.onEvent ?? (() => undefined);
  const plans = await readPlans(repo.storage, (k, why) => {
    log(`ignoring unreadable prune plan ${k}: ${why}`);
  });
  // The blob table is loaded by phase 1 (after phase 2's rewrite), or earlier only when a
  // snapshot has no manifest; index objects are decoded once, shared by both phases.
  const indexFiles = new PruneIndexes(repo);
  // Nothing is deleted while an index object or a snapshot cannot be read.
  await assertPrunable(repo, indexFiles, await repo.listIndexIds());
  const manifests = await readManifests(repo.storage);
  const { packs: referenced, orphans } = await referencedPacks(repo, manifests);
  const stored = await repo.listPackObjects();
  const report: PruneReport = {
    dryRun: o.dryRun === true,
    referencedPacks: referenced.size,
    totalPacks: stored.length,
    deletedPacks: [],
    freedBytes: 0,
    rescued: [],
    rewrittenIndexes: 0,
    waitingPlans: 0,
    orphanManifests: orphans.length,
    usedBytes: 0,
    unusedBytes: 0,
    unusedAfterBytes: 0,
    repacked: { packs: 0, blobs: 0, bytes: 0, newPacks: 0 },
    manifestsRewritten: 0,
    staleTempFiles: 0,
  };
  if (o.dryRun !== true) for (const k of orphans) await repo.storage.delete(k);

  // Phase 2: mature plans. An explicit grace (`--grace`) applies to every plan, earlier ones
  // included (docs/cli.md: "execute plans only when older than this"); without one, each plan
  // keeps the grace it was written with.
  const mature = plans.filter((p) => p.createdAt + (o.graceMs ?? p.graceMs) <= now);
  report.waitingPlans = plans.length - mature.length;
  const indexIds = await repo.listIndexIds();
  // An unreadable index names nothing here (phase 1 reads it again and decides).
  const loadIdx = (id: string): Promise<IndexPack[]> => indexFiles.get(id).catch(() => []);
  const toDelete = new Map<string, number>();
  for (const plan of mature) {
    const known = new Set(plan.indexIds);
    const newer = new Set<string>();
    for (const id of indexIds)
      if (!known.has(id)) for (const p of await loadIdx(id)) newer.add(p.id);
    for (const c of plan.candidates) {
      if (referenced.has(c.id) || newer.has(c.id)) report.rescued.push(c.id);
      else toDelete.set(c.id, c.size);
    }
  }
  const storedIds = new Map(stored.map((p) => [p.id, p.size]));
  if (toDelete.size > 0 && o.dryRun !== true) {
    // Indexes naming deleted packs are rewritten first, so no index points at a missing pack.
    const affected: string[] = [];
    const keep: IndexPack[] = [];
    const seen = new Set<string>();
    await indexFiles.prefetch(indexIds);
    for (const id of indexIds) {
      const packs = indexFiles.known(id) ?? [];
      if (!packs.some((p) => toDelete.has(p.id))) continue;
      affected.push(id);
      for (const p of packs)
        if (!toDelete.has(p.id) && !seen.has(p.id)) {
          seen.add(p.id);
          keep.push(p);
        }
    }
    if (affected.length > 0) {
      const newId = await saveIndex(repo.storage, repo.master, repo.random, keep, affected);
      log(`wrote index ${shortId(newId)} superseding ${affected.length} index object(s)`);
      indexFiles.put(newId, keep);
      for (const id of affected) await repo.storage.delete(`index/${id}`);
      indexFiles.drop(affected);
      report.rewrittenIndexes = affected.length;
    }
    for (const [id, size] of toDelete) {
      await repo.storage.delete(packKey(id));
      report.deletedPacks.push(id);
      report.freedBytes += storedIds.get(id) ?? size;
    }
  } else if (o.dryRun === true) {
    for (const [id, size] of toDelete) {
      report.deletedPacks.push(id);
      report.freedBytes += size;
    }
  }
  if (o.dryRun !== true) for (const p of mature) await repo.storage.delete(p.key);

  // Phase 1: account usage, repack, rewrite manifests, plan what goes.
  const planned = new Set<string>(toDelete.keys());
  for (const p of plans) if (!mature.includes(p)) for (const c of p.candidates) planned.add(c.id);
  const p1 = await planPrune(repo, {
    now,
    graceMs: grace,
    dryRun: o.dryRun === true,
    maxUnused: o.maxUnused ?? DEFAULT_MAX_UNUSED,
    repackSmall: o.repackSmall === true,
    planned,
    indexFiles,
    log,
    ...(o.maxRepackBytes !== undefined ? { maxRepackBytes: o.maxRepackBytes } : {}),
  });
  report.usedBytes = p1.usedBytes;
  report.unusedBytes = p1.unusedBytes;
  report.unusedAfterBytes = p1.unusedAfterBytes;
  report.repacked = p1.repacked;
  report.manifestsRewritten = p1.manifestsRewritten;
  if (p1.plan !== undefined) report.plan = p1.plan;
  return report;
}
