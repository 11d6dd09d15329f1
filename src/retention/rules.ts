import { bucketKey, wallClock, type WallClock } from "./calendar.ts";
import { subtractDuration } from "./duration.ts";
import { COUNT_RULES, WITHIN_RULES, type KeepRules, type RetentionSnapshot } from "./policy.ts";

/**
 * Applies the restic-style rules (everything but tiers) to one group, as `restic forget`
 * does. `sorted` is oldest first; `anchor` is where within-windows end.
 * - `keepLast N`: the N newest snapshots ("last snapshot").
 * - `keepDaily N` (and hourly/weekly/…): walking from the newest, the newest snapshot of
 *   each of the first N distinct days met ("daily snapshot").
 * - `keepWithin D`: every snapshot with time > anchor − D ("within D").
 * - `keepWithinDaily D` (…): the newest snapshot of each day among those within D
 *   ("daily within D").
 * - `keepTags`: snapshots with all tags of one of the sets ("tag a,b").
 * @returns every reason that keeps each kept id, in rule order.
 */
export function applyRules(
  sorted: readonly RetentionSnapshot[],
  rules: KeepRules,
  anchor: number,
  timeZone: string,
): Map<string, string[]> {
  const kept = new Map<string, string[]>();
  const add = (id: string, reason: string): void => {
    const list = kept.get(id);
    if (list === undefined) kept.set(id, [reason]);
    else list.push(reason);
  };
  const newestFirst = [...sorted].reverse();
  const walls = new Map<string, WallClock>();
  const wall = (s: RetentionSnapshot): WallClock => {
    let w = walls.get(s.id);
    if (w === undefined) {
      w = wallClock(s.time, timeZone);
      walls.set(s.id, w);
    }
    return w;
  };

  const last = rules.keepLast ?? 0;
  newestFirst.slice(0, last === Infinity ? undefined : last).forEach((s) => {
    add(s.id, "last snapshot");
  });

  for (const [rule, period, label] of COUNT_RULES) {
    let remaining = rules[rule] ?? 0;
    let previous: string | undefined;
    for (const s of newestFirst) {
      if (remaining <= 0) break;
      const key = bucketKey(period, wall(s));
      if (key === previous) continue;
      previous = key;
      remaining--;
      add(s.id, `${label} snapshot`);
    }
  }

  if (rules.keepWithin !== undefined) {
    const cutoff = subtractDuration(anchor, rules.keepWithin, timeZone);
    const reason = `within ${rules.keepWithin.text}`;
    for (const s of newestFirst) if (s.time > cutoff) add(s.id, reason);
  }

  for (const [rule, period, label] of WITHIN_RULES) {
    const within = rules[rule];
    if (within === undefined) continue;
    const cutoff = subtractDuration(anchor, within, timeZone);
    const reason = `${label} within ${within.text}`;
    let previous: string | undefined;
    for (const s of newestFirst) {
      if (s.time <= cutoff) continue;
      const key = bucketKey(period, wall(s));
      if (key === previous) continue;
      previous = key;
      add(s.id, reason);
    }
  }

  for (const set of rules.keepTags ?? []) {
    if (set.length === 0) continue;
    const reason = `tag ${set.join(",")}`;
    for (const s of newestFirst) if (set.every((t) => s.tags.includes(t))) add(s.id, reason);
  }
  return kept;
}
