import type { BlobLocation } from "../../format/blob-table.ts";
import { shortId } from "../../format/ids.ts";
import type { FileJob } from "./files.ts";
import type { WantedBlob } from "./packs.ts";
import type { PlannedNode } from "./plan.ts";
import type { RestoreSource } from "./types.ts";

/** A blob the restore reads, with every place (file and offset) it is written to. */
export type TargetedBlob = WantedBlob & { targets: { job: FileJob; offset: number }[] };

/** Where each blob of the planned files goes. */
export interface FileJobs {
  /** One job per planned file (a job with `failed` set lacks a blob in the index). */
  jobs: Map<FileJob, PlannedNode>;
  /** Every blob to read, by ID, each read once for all its targets. */
  wanted: Map<string, TargetedBlob>;
  /** Jobs of files without content (nothing to read). */
  empty: FileJob[];
  /** Sum of the sizes of the files whose blobs are all indexed. */
  bytesTotal: number;
}

/**
 * Works out where each blob of `files` goes: one {@link FileJob} per file, written to a
 * temporary name (`.coffer-restore-<pid>-<n>`) in the file's own directory; `onDisk` maps a
 * snapshot path to its path on disk. A file with a blob no index names gets `failed` set.
 */
export function planFileJobs(
  repo: Pick<RestoreSource, "locate">,
  files: readonly PlannedNode[],
  onDisk: (p: Buffer) => Buffer,
): FileJobs {
  const jobs = new Map<FileJob, PlannedNode>();
  const wanted = new Map<string, TargetedBlob>();
  const empty: FileJob[] = [];
  let bytesTotal = 0;
  let counter = 0;
  for (const f of files) {
    const final = onDisk(f.pathBytes);
    const temp = Buffer.concat([
      final.subarray(0, final.lastIndexOf(0x2f) + 1),
      Buffer.from(`.coffer-restore-${process.pid}-${counter++}`),
    ]);
    const job: FileJob = { final, temp, size: 0, remaining: 0, created: false, end: 0 };
    jobs.set(job, f);
    let offset = 0;
    const locs: { id: string; loc: BlobLocation }[] = [];
    let missing: string | undefined;
    for (const id of f.node.content ?? []) {
      const loc = repo.locate("data", id);
      if (loc === undefined) {
        missing ??= `blob ${shortId(id)} is not in any index`;
        continue;
      }
      locs.push({ id, loc });
    }
    if (missing !== undefined) {
      job.failed = missing;
      continue;
    }
    for (const { id, loc } of locs) {
      let w = wanted.get(id);
      if (w === undefined) wanted.set(id, (w = { id, loc, targets: [] }));
      w.targets.push({ job, offset });
      offset += loc.rawLength;
      job.remaining++;
    }
    job.size = offset;
    bytesTotal += offset;
    if (job.remaining === 0) empty.push(job);
  }
  return { jobs, wanted, empty, bytesTotal };
}
