import { resolve } from "node:path";
import { mkdir } from "node:fs/promises";
import { CofferError } from "../../core/errors.ts";
import { shortId } from "../../format/ids.ts";
import { findSnapshot } from "../browse/index.ts";
import { RestoreDecoder } from "./decoder.ts";
import { FileSink, type FileJob } from "./files.ts";
import { planFileJobs } from "./jobs.ts";
import { applyFileMetadataSync, applyFileTimes, applyNodeMetadata } from "./metadata.ts";
import {
  applyDirMetadata,
  createDirs,
  message,
  restoreLinks,
  restoreOthers,
  type RestoreTarget,
} from "./nodes.ts";
import { PackReader, planPackRanges, type PackRange, type WantedBlob } from "./packs.ts";
import { planRestore, type PlannedNode } from "./plan.ts";
import { decodeRangesInline, decodeRangesPipelined } from "./ranges.ts";
import type {
  RestoreOptions,
  RestoreProgress,
  RestoreResult,
  RestoreSource,
} from "./types.ts";

export type {
  RestoreOptions,
  RestoreProgress,
  RestoreResult,
  RestoreSource,
} from "./types.ts";

/** Bytes to restore from which one decode worker is started by default. */
const WORKER_MIN_BYTES = 16 * 1024 * 1024;
/** Largest range (and sum of its plaintexts) in the worker pipeline: 3 slots of 2 + 2 MiB. */
const SLOT_RANGE = 2 * 1024 * 1024;

/**
 * Restores a snapshot (`snapshot` is an ID, unique prefix or `latest`) under `o.target`.
 *
 * Blobs are read pack-wise: the blobs all selected files need are grouped by pack, sorted by
 * offset and coalesced into ranged GETs, several in flight; a blob shared by several files
 * (or several places in one file) is read and verified once and written to every place.
 * Every blob is authenticated and its plaintext checked against its ID.
 *
 * **No partial files under a real name**: each file is written to a temporary name
 * (`.coffer-restore-<pid>-<n>`) in its own directory and renamed into place only when all its
 * blobs were written; when a blob is missing or corrupt the temporary file is deleted, an
 * existing file of that name is left untouched, and the path is listed in `errors`. The
 * restore carries on with the other files. All-zero regions become holes.
 *
 * Metadata: modes, times, xattrs always; ownership when running as root; hard links are
 * relinked; directories get their metadata after their contents (deepest first).
 * @throws CofferError SNAPSHOT_NOT_FOUND / AMBIGUOUS_ID, INTERRUPTED (signal), and I/O errors
 *   on the target that are not specific to one file.
 */
export async function restore(
  repo: RestoreSource,
  snapshot: string,
  o: RestoreOptions,
): Promise<RestoreResult> {
  const { snapshot: snap } = await findSnapshot(repo, snapshot);
  await repo.ensureIndex();
  const plan = await planRestore(repo, snap.tree, {
    ...(o.include ? { include: o.include } : {}),
    ...(o.exclude ? { exclude: o.exclude } : {}),
  });
  const target = Buffer.from(resolve(o.target));
  const onDisk = (p: Buffer): Buffer => Buffer.concat([target, p]);
  const asRoot = process.getuid?.() === 0;
  const errors: { path: string; message: string }[] = [
    ...plan.treeErrors.map((e) => ({
      path: e.path,
      message: `subtree not restored: ${e.message}`,
    })),
  ];
  const fail = (path: string, message: string): void => {
    errors.push({ path, message });
  };
  const checkAbort = (): void => {
    if (o.signal?.aborted === true) throw new CofferError("INTERRUPTED", "Restore interrupted");
  };
  const t: RestoreTarget = { onDisk, fail, checkAbort, asRoot };

  await mkdir(target, { recursive: true });
  const dirOk = await createDirs(t, plan.dirs);

  // Files: work out where each blob goes.
  const { jobs, wanted, empty, bytesTotal } = planFileJobs(repo, plan.files, onDisk);
  const progress: RestoreProgress = {
    files: 0,
    filesTotal: plan.files.length + plan.links.length,
    bytes: 0,
    bytesTotal,
    errors: 0,
  };
  const report = (): void => {
    progress.errors = errors.length;
    o.onProgress?.({ ...progress });
  };
  const sink = new FileSink();
  const done = new Map<PlannedNode, boolean>();
  const finishJob = async (job: FileJob): Promise<void> => {
    const f = jobs.get(job)!;
    let problems: string[] | undefined;
    try {
      sink.truncate(job);
      problems = applyFileMetadataSync(sink.fd(job), job.final, f.node, asRoot);
      sink.commit(job);
    } catch (err) {
      job.failed = `cannot write: ${message(err)}`;
      sink.discard(job);
      fail(f.path, job.failed);
      done.set(f, false);
      return;
    }
    done.set(f, true);
    if (problems === undefined) problems = await applyNodeMetadata(job.final, f.node, asRoot);
    else await applyFileTimes(job.final, f.node, problems);
    for (const p of problems) fail(f.path, p);
    progress.files++;
    report();
  };
  const failJob = (job: FileJob, why: string): void => {
    if (job.failed !== undefined) return;
    job.failed = why;
    sink.discard(job);
    const f = jobs.get(job)!;
    fail(f.path, why);
    done.set(f, false);
    report();
  };

  let decoder: RestoreDecoder | undefined;
  try {
    for (const [job, f] of jobs) {
      if (job.failed !== undefined) {
        fail(f.path, job.failed);
        done.set(f, false);
      }
    }
    for (const job of empty) {
      try {
        sink.fd(job);
      } catch (err) {
        failJob(job, `cannot create: ${message(err)}`);
        continue;
      }
      await finishJob(job);
    }
    // a worker's isolate costs more than it saves on a small restore
    const workers = o.workers ?? (progress.bytesTotal >= WORKER_MIN_BYTES ? 1 : 0);
    // worker slots hold a range and its plaintexts, 2 per worker + 1: keep them small
    const ranges = planPackRanges(
      wanted.values(),
      workers > 0 ? { maxRange: SLOT_RANGE, maxRaw: SLOT_RANGE } : {},
    );
    const reader = new PackReader(repo.storage, ranges, o.concurrency ?? 4);
    const blobFailed = (r: PackRange, b: WantedBlob, err: unknown): void => {
      const e =
        err instanceof CofferError
          ? err
          : new CofferError("CORRUPT", `Cannot read blob ${shortId(b.id)}: ${String(err)}`, {
              cause: err,
            });
      const why = e.message.includes(`pack ${shortId(r.packId)}`)
        ? e.message
        : `${e.message} (pack ${shortId(r.packId)})`;
      for (const { job } of wanted.get(b.id)!.targets) failJob(job, why);
    };
    const deliver = async (b: WantedBlob, raw: Buffer): Promise<void> => {
      for (const { job, offset } of wanted.get(b.id)!.targets) {
        if (job.failed !== undefined) continue;
        try {
          sink.write(job, offset, raw);
        } catch (err) {
          failJob(job, `cannot write: ${message(err)}`);
          continue;
        }
        progress.bytes += raw.length;
        job.remaining--;
        if (job.remaining === 0) await finishJob(job);
      }
    };
    if (workers > 0 && ranges.length > 1)
      // one worker is the bottleneck: the main thread checks the IDs of every other range
      decoder = new RestoreDecoder(repo.master, workers, workers === 1 ? 2 : 0);
    const handlers = {
      checkAbort,
      unwanted: (id: string): boolean =>
        wanted.get(id)!.targets.every(({ job }) => job.failed !== undefined),
      blobFailed,
      deliver,
    };
    if (decoder === undefined) await decodeRangesInline(repo.master, reader, ranges, handlers);
    else await decodeRangesPipelined(decoder, workers, reader, ranges, handlers);
  } finally {
    await decoder?.close();
    sink.closeAll();
    if (o.signal?.aborted === true)
      for (const job of jobs.keys())
        if (job.remaining > 0 || job.failed !== undefined) sink.discard(job);
  }
  checkAbort();

  progress.files += await restoreLinks(t, plan.links, done);
  await restoreOthers(t, plan.others);
  await applyDirMetadata(t, plan.dirs, dirOk);
  report();
  return { files: progress.files, dirs: dirOk.size, bytes: progress.bytes, errors };
}
