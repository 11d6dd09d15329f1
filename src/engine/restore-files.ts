import { open, rename, unlink, type FileHandle } from "node:fs/promises";

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
  handle?: FileHandle;
  /** Writes in flight on `handle`. */
  busy: number;
  /** Whether the temp file exists (created with O_TRUNC on first open). */
  created: boolean;
  /** Resolves pending opens. */
  opening?: Promise<FileHandle>;
}

/**
 * Writes blobs into temporary files with positional writes, leaving all-zero 64 KiB blocks
 * as holes (the file is `ftruncate`d to its size at the end, so skipped zeros read back as
 * zeros and sparse files stay sparse). Keeps at most `maxOpen` idle handles open.
 */
export class FileSink {
  readonly #open = new Set<FileJob>();
  constructor(private readonly maxOpen = 256) {}

  /** Writes `data` at `offset` of the job's temp file. */
  async write(job: FileJob, offset: number, data: Buffer): Promise<void> {
    const fh = await this.#handle(job);
    job.busy++;
    try {
      await writeSparse(fh, data, offset);
    } finally {
      job.busy--;
    }
  }

  /** Creates (or truncates) the temp file without writing (for files of zeros only). */
  async touch(job: FileJob): Promise<void> {
    await this.#handle(job);
  }

  /** Sets the final size, closes, and renames the temp file to its final name. */
  async finish(job: FileJob): Promise<void> {
    const fh = await this.#handle(job);
    await fh.truncate(job.size);
    await this.#close(job);
    await rename(job.temp, job.final);
  }

  /** Closes and removes the temp file of a failed job; never throws. */
  async discard(job: FileJob): Promise<void> {
    try {
      await this.#close(job);
    } catch {
      // closing a broken handle: nothing to save
    }
    if (job.created) await unlink(job.temp).catch(() => undefined);
  }

  /** Closes every handle still open (after an interruption). */
  async closeAll(): Promise<void> {
    for (const job of [...this.#open]) await this.#close(job).catch(() => undefined);
  }

  async #handle(job: FileJob): Promise<FileHandle> {
    if (job.handle !== undefined) return job.handle;
    if (job.opening !== undefined) return job.opening;
    const p = (async () => {
      if (this.#open.size >= this.maxOpen) await this.#evict();
      const fh = await open(job.temp, job.created ? "r+" : "w", 0o600);
      job.created = true;
      job.handle = fh;
      this.#open.add(job);
      return fh;
    })();
    job.opening = p;
    try {
      return await p;
    } finally {
      delete job.opening;
    }
  }

  async #close(job: FileJob): Promise<void> {
    const fh = job.handle;
    if (fh === undefined) return;
    delete job.handle;
    this.#open.delete(job);
    await fh.close();
  }

  async #evict(): Promise<void> {
    for (const job of this.#open) {
      if (job.busy === 0 && job.opening === undefined) {
        await this.#close(job);
        if (this.#open.size < this.maxOpen) return;
      }
    }
  }
}

/** Positional write of `data` at `offset`, skipping all-zero 64 KiB-aligned blocks. */
export async function writeSparse(fh: FileHandle, data: Buffer, offset: number): Promise<void> {
  let i = 0;
  while (i < data.length) {
    // find the next non-zero block
    const blockEnd = (p: number): number => Math.min(data.length, p + HOLE_BLOCK - ((offset + p) % HOLE_BLOCK));
    let start = i;
    while (start < data.length && isZero(data, start, blockEnd(start))) start = blockEnd(start);
    if (start >= data.length) return;
    let end = blockEnd(start);
    while (end < data.length && !isZero(data, end, blockEnd(end))) end = blockEnd(end);
    let done = start;
    while (done < end) {
      const { bytesWritten } = await fh.write(data, done, end - done, offset + done);
      done += bytesWritten;
    }
    i = end;
  }
}

function isZero(b: Buffer, start: number, end: number): boolean {
  return b.compare(ZEROS, 0, end - start, start, end) === 0;
}
