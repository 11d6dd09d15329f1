/**
 * Pure retention engine shared by the client (`coffer forget`) and the gateway.
 * @module
 */
export { applyPolicy, EMPTY_POLICY_REASON, NEWEST_REASON } from "./apply.ts";
export type { ApplyOptions, GroupDecision, KeptSnapshot, RetentionDecision } from "./apply.ts";
export { bucketKey, isoWeek, slotIndex, wallClock } from "./calendar.ts";
export type { Period, WallClock } from "./calendar.ts";
export { addDurations, duration, parseDuration, subtractDuration } from "./duration.ts";
export type { Duration } from "./duration.ts";
export { groupSnapshots } from "./group.ts";
export {
  parseKeepRules,
  parsePolicy,
  parsePolicyFlags,
  parseTier,
  parseTierKeep,
} from "./parse-policy.ts";
export { planDeletions } from "./plan-deletions.ts";
export { isEmptyRules, tierKeepLabel } from "./policy.ts";
export type {
  GroupBy,
  GroupMatch,
  GroupPolicy,
  KeepRules,
  RetentionPolicy,
  RetentionSnapshot,
  Tier,
  TierKeep,
} from "./policy.ts";
export { PRESETS, isPresetName } from "./presets.ts";
export type { PresetName } from "./presets.ts";
