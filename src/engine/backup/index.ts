/** What the backup sub-domain offers the rest of Coffer. */
export { backup, type BackupResult, type BackupWarning } from "./backup.ts";
export {
  References,
  emptyStats,
  indexFlushedPacks,
  saveSnapshotAndManifest,
  throwIfInterrupted,
} from "./commit.ts";
export { assertAllStored, readPipe } from "./pipe-source.ts";
export { Packer } from "./pipeline/packer.ts";
export { ParentTrees } from "./pipeline/parent-trees.ts";
export { scanTotals } from "./scan.ts";
export { backupCommand, backupStream } from "./stream.ts";
