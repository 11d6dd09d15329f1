/** What the browse sub-domain offers the rest of Coffer. */
export { diff } from "./diff.ts";
export { dump, fileContent } from "./dump.ts";
export {
  compareSnapshots,
  findSnapshot,
  listSnapshots,
  matchesFilter,
  timeNs,
  type FoundSnapshot,
  type SnapshotFilter,
  type SnapshotSource,
} from "./find-snapshot.ts";
export { ls } from "./ls.ts";
