import { parseDuration } from "./duration.ts";
import type { KeepRules, Tier, TierKeep } from "./policy.ts";

function tier(span: string, keep: TierKeep, mode: "for" | "until" = "for"): Tier {
  const d = parseDuration(span);
  return mode === "for" ? { for: d, keep } : { until: d, keep };
}

/**
 * Named policies our users already run. Every preset is flood-resistant: it is made of
 * time windows and calendar slots only (no `keepLast`, no "last N days" counts), so a
 * flood of snapshots in one hour cannot push an older kept snapshot out; and tiers keep
 * the *oldest* snapshot of each slot, so a flood cannot displace a slot's pick either.
 */
export const PRESETS = {
  /**
   * Everything for 7 days, then 3 per week for 3 weeks, 1 per week for 8 weeks, 1 per
   * month for 12 months (about 1 year 3 months in all). Daily backups for a year keep 34
   * snapshots: 7 + 9 + 8 + 10 (see docs/adr/0003-retention.md).
   */
  degressive: {
    tiers: [
      tier("7d", "all"),
      tier("3w", { count: 3, per: "week" }),
      tier("8w", { count: 1, per: "week" }),
      tier("12m", { count: 1, per: "month" }),
    ],
  },
  /** Every snapshot of the last 30 days (daily backups: 30 kept). */
  "rolling-30d": { keepWithin: parseDuration("30d") },
  /**
   * Database dumps at 00:00 and 12:00 kept 7 days: every snapshot of the last 7 days
   * (14 dumps), including any extra manual dump.
   */
  "twice-daily-7d": { keepWithin: parseDuration("7d") },
  /**
   * Hourly for 150 hours, daily for 90 days, monthly for 12 months, all measured from the
   * anchor: the oldest snapshot of each hour younger than 150h, of each day younger than 90d,
   * of each month younger than 12 months. Hourly backups: 150 + 84 + about 10 kept.
   */
  "hourly-150h-daily-90d-monthly-12m": {
    tiers: [
      tier("150h", { count: 1, per: "hour" }, "until"),
      tier("90d", { count: 1, per: "day" }, "until"),
      tier("12m", { count: 1, per: "month" }, "until"),
    ],
  },
  /**
   * Grandfather-father-son: 1 per day for 7 days, then 1 per week for 4 weeks, then 1 per
   * month for 6 months (oldest snapshot of each day, ISO week and month).
   */
  "gfs-7d-4w-6m": {
    tiers: [
      tier("7d", { count: 1, per: "day" }),
      tier("4w", { count: 1, per: "week" }),
      tier("6m", { count: 1, per: "month" }),
    ],
  },
} as const satisfies Record<string, KeepRules>;

/** A preset name. */
export type PresetName = keyof typeof PRESETS;

/** True when `name` is a preset name. */
export function isPresetName(name: string): name is PresetName {
  return Object.prototype.hasOwnProperty.call(PRESETS, name);
}
