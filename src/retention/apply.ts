import { CofferError } from "../core/errors.ts";
import { assertTimeZone } from "./calendar.ts";
import { groupSnapshots } from "./group.ts";
import {
  isEmptyRules,
  type KeepRules,
  type RetentionPolicy,
  type RetentionSnapshot,
} from "./policy.ts";
import { applyRules } from "./rules.ts";
import { applyTiers } from "./tiers.ts";

/** Options of {@link applyPolicy}. */
export interface ApplyOptions {
  /** The current time (ms). Injected: pure code never reads the clock. */
  readonly now: number;
  /** IANA time zone for calendar buckets; default `"UTC"`. */
  readonly timeZone?: string;
  /**
   * Where windows end. `"latest"` (default): at the group's newest snapshot (never later
   * than `now`), so nothing expires while backups have stopped. `"now"`: at `now`.
   */
  readonly anchor?: "latest" | "now";
}

/** A kept snapshot and every rule that keeps it. */
export interface KeptSnapshot {
  readonly id: string;
  readonly reasons: string[];
}

/** The decision for one group; `keep` and `forget` are newest first. */
export interface GroupDecision {
  readonly key: string;
  readonly policy: string;
  readonly keep: KeptSnapshot[];
  readonly forget: { readonly id: string }[];
}

/** The outcome of {@link applyPolicy}: data, never thrown. */
export interface RetentionDecision {
  readonly groups: GroupDecision[];
}

/** Reason given when a group's rules are empty. */
export const EMPTY_POLICY_REASON = "no keep rule: keep everything";
/** Reason given to the newest snapshot of each group. */
export const NEWEST_REASON = "newest snapshot";

function decideGroup(
  snapshots: readonly RetentionSnapshot[],
  rules: KeepRules,
  now: number,
  timeZone: string,
  anchorMode: "latest" | "now",
): { keep: KeptSnapshot[]; forget: { id: string }[] } {
  const sorted = [...snapshots].sort(
    (a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const newest = sorted[sorted.length - 1];
  if (newest === undefined) return { keep: [], forget: [] };
  const anchor = anchorMode === "now" ? now : Math.min(newest.time, now);
  const reasons = new Map<string, string[]>();
  if (isEmptyRules(rules)) {
    for (const s of sorted) reasons.set(s.id, [EMPTY_POLICY_REASON]);
  } else {
    for (const [id, list] of applyRules(sorted, rules, anchor, timeZone)) reasons.set(id, list);
    for (const [id, reason] of applyTiers(sorted, rules.tiers ?? [], anchor, timeZone)) {
      const list = reasons.get(id);
      if (list === undefined) reasons.set(id, [reason]);
      else list.push(reason);
    }
    const list = reasons.get(newest.id);
    if (list === undefined) reasons.set(newest.id, [NEWEST_REASON]);
    else list.push(NEWEST_REASON);
  }
  const keep: KeptSnapshot[] = [];
  const forget: { id: string }[] = [];
  for (let i = sorted.length - 1; i >= 0; i--) {
    const s = sorted[i]!;
    const r = reasons.get(s.id);
    if (r === undefined) forget.push({ id: s.id });
    else keep.push({ id: s.id, reasons: r });
  }
  return { keep, forget };
}

/**
 * Decides which snapshots to keep and which to forget, per group, like `restic forget`.
 * Rules combine with OR; the newest snapshot of every group is always kept; a group whose
 * rules are empty keeps everything (a caller must give a policy to forget anything).
 * Calendar buckets use the wall clock of `timeZone`. Pure: no clock, no I/O.
 * Throws `BAD_INPUT` for an unknown time zone, a non-finite time or a duplicate id.
 */
export function applyPolicy(
  snapshots: readonly RetentionSnapshot[],
  policy: RetentionPolicy,
  options: ApplyOptions,
): RetentionDecision {
  const timeZone = options.timeZone ?? "UTC";
  assertTimeZone(timeZone);
  if (!Number.isFinite(options.now)) {
    throw new CofferError(
      "BAD_INPUT",
      `Cannot apply retention: invalid "now" ${String(options.now)}`,
    );
  }
  const ids = new Set<string>();
  for (const s of snapshots) {
    if (!Number.isFinite(s.time)) {
      throw new CofferError(
        "BAD_INPUT",
        `Cannot apply retention: snapshot ${s.id} has an invalid time`,
      );
    }
    if (ids.has(s.id)) {
      throw new CofferError("BAD_INPUT", `Cannot apply retention: duplicate snapshot ${s.id}`);
    }
    ids.add(s.id);
  }
  const anchor = options.anchor ?? "latest";
  return {
    groups: groupSnapshots(snapshots, policy).map((g) => {
      return {
        key: g.key,
        policy: g.policy,
        ...decideGroup(g.snapshots, g.rules, options.now, timeZone, anchor),
      };
    }),
  };
}
