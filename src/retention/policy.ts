import type { Period } from "./calendar.ts";
import type { Duration } from "./duration.ts";

/**
 * How many snapshots a tier keeps: `"all"`, or `count` per calendar `per` period.
 *
 * `count` per period splits each period (hour, day, ISO week from Monday 00:00, month,
 * year; wall clock of the policy's time zone) into `count` equal slots and keeps the
 * **oldest** snapshot of each slot, chosen among the snapshots the previous tiers would
 * keep. "3 per week" has slots Mon 00:00–Wed 08:00, Wed 08:00–Fri 16:00, Fri 16:00–Mon 00:00.
 * Slots are fixed to the calendar and a slot's oldest snapshot never changes when newer
 * snapshots arrive, so a snapshot kept by a tier stays kept until it ages into a coarser
 * tier (see docs/adr/0003-retention.md).
 */
export type TierKeep = "all" | { readonly count: number; readonly per: Period };

/**
 * One step of a degressive policy. Its age range starts where the previous tier's ends
 * (at the anchor for the first tier) and lasts `for`; or, with `until`, ends at
 * `until` before the anchor.
 */
export type Tier =
  | { readonly for: Duration; readonly keep: TierKeep }
  | { readonly until: Duration; readonly keep: TierKeep };

/** restic-style keep rules plus degressive tiers; a snapshot is kept if any rule keeps it. */
export interface KeepRules {
  /** Keep the newest N snapshots (not flood-resistant). */
  readonly keepLast?: number;
  /** Keep the newest snapshot of each of the last N hours/days/… that have snapshots. */
  readonly keepHourly?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
  readonly keepYearly?: number;
  /** Keep every snapshot newer than anchor − duration. */
  readonly keepWithin?: Duration;
  /** Keep the newest snapshot of each hour/day/… newer than anchor − duration. */
  readonly keepWithinHourly?: Duration;
  readonly keepWithinDaily?: Duration;
  readonly keepWithinWeekly?: Duration;
  readonly keepWithinMonthly?: Duration;
  readonly keepWithinYearly?: Duration;
  /** Keep snapshots carrying every tag of at least one of these sets. */
  readonly keepTags?: readonly (readonly string[])[];
  /** Degressive tiers, youngest first. */
  readonly tiers?: readonly Tier[];
}

/** Grouping dimension: host, the tag set, the path set, or the tags matching a glob (`db:*`). */
export type GroupBy = "host" | "tags" | "paths" | { readonly tagPattern: string };

/** Selects snapshots for a per-group policy; every given field must match. */
export interface GroupMatch {
  readonly host?: string;
  /** The snapshot has all these tags. */
  readonly tags?: readonly string[];
  /** The snapshot has a tag starting with this prefix. */
  readonly tagPrefix?: string;
}

/** A policy for the snapshots a {@link GroupMatch} selects. */
export interface GroupPolicy {
  readonly name: string;
  readonly match: GroupMatch;
  readonly rules: KeepRules;
}

/**
 * A complete retention policy: snapshots are split by the first matching entry of `groups`
 * (else `rules`), then by `groupBy`; each group is decided on its own.
 */
export interface RetentionPolicy {
  readonly groupBy: readonly GroupBy[];
  readonly rules: KeepRules;
  readonly groups: readonly GroupPolicy[];
}

/** The calendar-count rules and their period, in restic's order. */
export const COUNT_RULES = [
  ["keepHourly", "hour", "hourly"],
  ["keepDaily", "day", "daily"],
  ["keepWeekly", "week", "weekly"],
  ["keepMonthly", "month", "monthly"],
  ["keepYearly", "year", "yearly"],
] as const satisfies readonly (readonly [keyof KeepRules, Period, string])[];

/** The within-calendar rules and their period. */
export const WITHIN_RULES = [
  ["keepWithinHourly", "hour", "hourly"],
  ["keepWithinDaily", "day", "daily"],
  ["keepWithinWeekly", "week", "weekly"],
  ["keepWithinMonthly", "month", "monthly"],
  ["keepWithinYearly", "year", "yearly"],
] as const satisfies readonly (readonly [keyof KeepRules, Period, string])[];

/** True when `rules` has no rule at all (such rules keep everything). */
export function isEmptyRules(rules: KeepRules): boolean {
  return Object.values(rules).every(
    (v) => v === undefined || (Array.isArray(v) && v.length === 0) || v === 0,
  );
}

/** Short label of a tier's keep, as used in reasons: `"all"`, `"3/week"`. */
export function tierKeepLabel(keep: TierKeep): string {
  return keep === "all" ? "all" : `${keep.count}/${keep.per}`;
}

/** What retention needs to know about a snapshot (from a manifest or a snapshot file). */
export interface RetentionSnapshot {
  readonly id: string;
  /** ms since the epoch: the gateway's recorded commit time, or the snapshot's time. */
  readonly time: number;
  readonly host: string;
  readonly tags: readonly string[];
  readonly paths: readonly string[];
}
