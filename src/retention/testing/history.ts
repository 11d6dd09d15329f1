import { applyPolicy, type ApplyOptions } from "../apply.ts";
import type { RetentionPolicy, RetentionSnapshot } from "../policy.ts";

/** Test helper: a snapshot on host `h`, path `/srv`, at ISO time `iso`, id = `iso`. */
export function snap(iso: string, extra: Partial<RetentionSnapshot> = {}): RetentionSnapshot {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) throw new Error(`bad test time ${iso}`);
  return { id: iso, time, host: "h", tags: [], paths: ["/srv"], ...extra };
}

/** ISO timestamp (UTC, no milliseconds) of `ms`. */
export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

/** One snapshot every `stepMs` from `startIso`, `count` of them, ids = ISO times. */
export function series(startIso: string, count: number, stepMs: number): RetentionSnapshot[] {
  const start = Date.parse(startIso);
  return Array.from({ length: count }, (_, i) => snap(iso(start + i * stepMs)));
}

/** The ids kept across all groups of a decision, sorted. */
export function keptIds(
  snapshots: readonly RetentionSnapshot[],
  policy: RetentionPolicy,
  options: ApplyOptions,
): string[] {
  return applyPolicy(snapshots, policy, options)
    .groups.flatMap((g) => g.keep.map((k) => k.id))
    .sort();
}

/** A policy with the default grouping and no per-group entries. */
export function policyOf(rules: RetentionPolicy["rules"]): RetentionPolicy {
  return { groupBy: ["host", "paths"], rules, groups: [] };
}

/**
 * Simulates a repository whose retention runs after each batch: batches arrive in order,
 * each batch is added, the policy is applied at `now` = the latest time seen so far, and the
 * forgotten snapshots are removed. Calls `onRun` after each run.
 * @returns the survivors after the last run, sorted by id.
 */
export function simulate(
  batches: readonly (readonly RetentionSnapshot[])[],
  policy: RetentionPolicy,
  options: Omit<ApplyOptions, "now"> = {},
  onRun?: (run: { index: number; now: number; kept: Set<string>; forgotten: string[] }) => void,
): string[] {
  let live: RetentionSnapshot[] = [];
  let now = -Infinity;
  batches.forEach((batch, index) => {
    live = live.concat(batch);
    now = Math.max(now, ...batch.map((s) => s.time));
    const decision = applyPolicy(live, policy, { ...options, now });
    const kept = new Set(decision.groups.flatMap((g) => g.keep.map((k) => k.id)));
    const forgotten = live.filter((s) => !kept.has(s.id)).map((s) => s.id);
    live = live.filter((s) => kept.has(s.id));
    onRun?.({ index, now, kept, forgotten });
  });
  return live.map((s) => s.id).sort();
}
