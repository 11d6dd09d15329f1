/** What the prune sub-domain offers the rest of Coffer. */
export {
  forgetByPolicy,
  forgetSnapshots,
  pendingDeletions,
  readManifests,
  type ForgetOutcome,
  type StoredManifest,
} from "./forget.ts";
export {
  decodeLock,
  describeHolder,
  encodeLock,
  type LockEntry,
  type LockInfo,
} from "./lock-decision.ts";
export { withPruneLock } from "./lock.ts";
export { prune, type PruneOptions, type PruneReport } from "./prune.ts";
export { verifyBlob } from "./repack-verify.ts";
export { parseMaxUnused, parseSize } from "./select.ts";
export { unlock } from "./unlock.ts";
