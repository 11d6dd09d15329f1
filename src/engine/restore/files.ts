import {
  closeSync,
  ftruncateSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
  constants,
} from "node:fs";

/** Granularity at which all-zero runs are skipped (left as holes). */
const HOLE_BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(HOLE_BLOCK);

/** State of one file being restored into a temporary name. */
export interface FileJob {
  /** Final path on disk. */
  final: Buffer;
  /** Temporary path in the same directory. */
  temp: Buffer;
  size: number;
  /** Blob writes still to do. */
  remaining: number;
  /** Set once the file failed; later writes are dropped. */
  failed?: string;
  /** Open descriptor of the temp file, if open. */
  fd?: number;
  /** Whether the temp file exists (created with O_TRUNC on first open). */
  created: boolean;
  /** End of the last byte written so far (to skip a needless `ftruncate`). */
  end: number;
}

/**
 * Writes blobs into temporary files with synchronous positional writes, leaving all-zero
 * 64 KiB blocks as holes (the file is `ftruncate`d to its size at the end when its last
 * bytes were zeros, so skipped zeros read back as zeros and sparse files stay sparse).
 * Keeps at most `maxOpen` descriptors open (least recently opened closed first).
 *
 * Synchronous on purpose: writes land in the page cache in microseconds, and a thread-pool
 * round trip plus a promise per write cost more CPU than the write itself.
 */
export class FileSink {
  readonly #open = new Set<FileJob>();
  constructor(private readonly maxOpen = 64) {}

  /** Writes `data` at `offset` of the job's temp file. */
  write(job: FileJob, offset: number, data: Uint8Array): void {
    const fd = this.fd(job);
    const written = writeSparse(fd, data, offset);
    if (written > job.end) job.end = written;
  }

  /** The job's open descriptor; creates (or truncates) the temp file on first use. */
  fd(job: FileJob): number {
    if (job.fd !== undefined) return job.fd;
    if (this.#open.size >= this.maxOpen) {
      const oldest = this.#open.values().next().value;
      if (oldest !== undefined) this.close(oldest);
    }
    const flags = job.created
      ? constants.O_WRONLY
      : constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC;
    const fd = openSync(job.temp, flags, 0o600);
    job.created = true;
    job.fd = fd;
    this.#open.add(job);
    return fd;
  }

  /** Sets the final size when the last bytes were holes; leaves the descriptor open. */
  truncate(job: FileJob): void {
    const fd = this.fd(job);
    if (job.end !== job.size) ftruncateSync(fd, job.size);
  }

  /** Closes and renames the temp file to its final name. */
  commit(job: FileJob): void {
    this.close(job);
    renameSync(job.temp, job.final);
  }

  /** Closes and removes the temp file of a failed job; never throws. */
  discard(job: FileJob): void {
    try {
      this.close(job);
    } catch {
      // closing a broken descriptor: nothing to save
    }
    if (job.created) {
      try {
        unlinkSync(job.temp);
      } catch {
        // already gone
      }
    }
  }

  /** Closes every descriptor still open (after an interruption). */
  closeAll(): void {
    for (const job of [...this.#open]) {
      try {
        this.close(job);
      } catch {
        // nothing to save
      }
    }
  }

  close(job: FileJob): void {
    const fd = job.fd;
    if (fd === undefined) return;
    delete job.fd;
    this.#open.delete(job);
    closeSync(fd);
  }
}

/**
 * Positional write of `data` at `offset`, skipping all-zero 64 KiB-aligned blocks. Returns the
 * file offset just past the last byte written (`offset` when nothing was).
 */
export function writeSparse(fd: number, data: Uint8Array, offset: number): number {
  const n = data.length;
  let last = 0;
  const blockEnd = (p: number): number => Math.min(n, p + HOLE_BLOCK - ((offset + p) % HOLE_BLOCK));
  let i = 0;
  while (i < n) {
    let start = i;
    while (start < n && isZero(data, start, blockEnd(start))) start = blockEnd(start);
    if (start >= n) break;
    let end = blockEnd(start);
    while (end < n && !isZero(data, end, blockEnd(end))) end = blockEnd(end);
    writeAll(fd, data, start, end, offset);
    last = end;
    i = end;
  }
  return offset + last;
}

function writeAll(fd: number, data: Uint8Array, start: number, end: number, offset: number): void {
  let done = start;
  while (done < end) done += writeSync(fd, data, done, end - done, offset + done);
}

/** Whether `b[start, end)` is all zeros; a non-zero first or last byte answers at once. */
function isZero(b: Uint8Array, start: number, end: number): boolean {
  if (b[start] !== 0 || b[end - 1] !== 0) return false;
  return (
    Buffer.compare(
      b.subarray(start, end),
      end - start === HOLE_BLOCK ? ZEROS : ZEROS.subarray(0, end - start),
    ) === 0
  );
}
