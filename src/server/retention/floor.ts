import {
  bucketKey,
  wallClock,
  type GroupDecision,
  type KeptSnapshot,
  type RetentionDecision,
  type RetentionSnapshot,
} from "../../retention/index.ts";

/**
 * The server-side floor under every retention policy (config `retention.floor`): whatever a
 * policy's count rules say, a snapshot committed less than `minAgeMs` ago is never filed, and
 * the newest snapshot of each of a group's `days` most recent calendar days is always kept.
 * Count rules (`keep-last N`) can be gamed by a compromised source uploading N junk
 * snapshots; the floor cannot, because it reads only the gateway's commit times.
 */
export interface RetentionFloor {
  minAgeMs: number;
  days: number;
}

/** The default floor: nothing younger than 7 days, one per day for the last 7 backup days. */
export const DEFAULT_RETENTION_FLOOR: RetentionFloor = { minAgeMs: 7 * 86_400_000, days: 7 };

/** Reason given to a snapshot the floor keeps (`policy run --dry-run` shows it). */
export const FLOOR_AGE_REASON = "server floor: younger than the minimum age";
/** Reason given to a day's newest snapshot kept by the floor. */
export const FLOOR_DAILY_REASON = "server floor: newest of one of the last days";

/**
 * Applies `floor` to a policy's decision: forgotten snapshots the floor protects move to
 * `keep` with a floor reason. Pure: `now` and the time zone are given.
 */
export function applyFloor(
  decision: RetentionDecision,
  snapshots: readonly RetentionSnapshot[],
  floor: RetentionFloor,
  now: number,
  timeZone: string,
): RetentionDecision {
  const byId = new Map(snapshots.map((s) => [s.id, s]));
  const groups = decision.groups.map((g): GroupDecision => {
    const members = [...g.keep, ...g.forget]
      .map((x) => byId.get(x.id))
      .filter((s): s is RetentionSnapshot => s !== undefined)
      .sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1));
    const protectedIds = new Map<string, string>();
    const days = new Set<string>();
    for (const s of members) {
      if (now - s.time < floor.minAgeMs) protectedIds.set(s.id, FLOOR_AGE_REASON);
      const day = bucketKey("day", wallClock(s.time, timeZone));
      if (!days.has(day) && days.size < floor.days) {
        days.add(day);
        if (!protectedIds.has(s.id)) protectedIds.set(s.id, FLOOR_DAILY_REASON);
      }
    }
    const keep: KeptSnapshot[] = [...g.keep];
    const forget: { id: string }[] = [];
    for (const f of g.forget) {
      const reason = protectedIds.get(f.id);
      if (reason === undefined) forget.push(f);
      else keep.push({ id: f.id, reasons: [reason] });
    }
    const time = (id: string): number => byId.get(id)?.time ?? 0;
    keep.sort((a, b) => time(b.id) - time(a.id));
    return { ...g, keep, forget };
  });
  return { ...decision, groups };
}
