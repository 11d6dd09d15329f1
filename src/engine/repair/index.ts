// The repair sub-domain: `coffer repair index|snapshots`. Entered only through here. (The
// advice `check` prints lives in check/advice.ts, prune's guard in prune/guard.ts.)
export { type RepairIndexOptions, type RepairIndexReport, repairIndex } from "./repair-index.ts";
export {
  REPAIRED_TAG,
  type RepairSnapshotsOptions,
  type RepairSnapshotsReport,
  type RepairedSnapshot,
  repairSnapshots,
} from "./repair-snapshots.ts";
