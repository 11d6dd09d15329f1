import type { Storage } from "../../storage/storage.ts";
import { LOCK_STALE_MS, isStale, type HolderAlive, type LockEntry } from "./lock-decision.ts";
import { listLocks, localLiveness } from "./lock.ts";

/** What {@link unlock} did. */
export interface UnlockReport {
  removed: LockEntry[];
  /** Live locks removed with `removeAll`. */
  removedLive: LockEntry[];
  kept: LockEntry[];
  /** Lock objects that are not readable locks (they block nothing), removed. */
  unreadable: string[];
}

/**
 * `coffer unlock`: removes stale prune locks and unreadable lock objects; with `removeAll`
 * live ones too (a running prune notices at its next refresh and stops).
 */
export async function unlock(
  storage: Storage,
  o: { now: number; alive?: HolderAlive; staleMs?: number; removeAll?: boolean },
): Promise<UnlockReport> {
  const alive = o.alive ?? localLiveness();
  const staleMs = o.staleMs ?? LOCK_STALE_MS;
  const { locks, unreadable } = await listLocks(storage);
  const report: UnlockReport = { removed: [], removedLive: [], kept: [], unreadable: [] };
  for (const u of unreadable) {
    await storage.delete(u.key);
    report.unreadable.push(u.key);
  }
  for (const e of locks) {
    if (isStale(e, { now: o.now, staleMs, alive })) report.removed.push(e);
    else if (o.removeAll === true) report.removedLive.push(e);
    else {
      report.kept.push(e);
      continue;
    }
    await storage.delete(e.key);
  }
  return report;
}
