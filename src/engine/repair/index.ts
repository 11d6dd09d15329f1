// The repair sub-domain: `coffer repair index|snapshots`, the repair advice of `check`, and
// the guard that keeps prune from running over unreadable objects. Entered only through here.
export { repairAdvice } from "./advice.ts";
export { assertPrunable, damagedIndexError } from "../prune/guard.ts";
export { type RepairIndexOptions, type RepairIndexReport, repairIndex } from "./repair-index.ts";
export {
  REPAIRED_TAG,
  type RepairSnapshotsOptions,
  type RepairSnapshotsReport,
  type RepairedSnapshot,
  repairSnapshots,
} from "./repair-snapshots.ts";
