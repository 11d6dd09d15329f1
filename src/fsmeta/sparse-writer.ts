import { open, type FileHandle } from "node:fs/promises";
import { fromSystemError } from "../core/errors.ts";

const ZEROS = Buffer.alloc(1 << 16);

/**
 * True when every byte of `data` is zero (memcmp against a static zero page, 64 KiB at a time).
 */
export function isAllZero(data: Uint8Array): boolean {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < buf.length; i += ZEROS.length) {
    const n = Math.min(ZEROS.length, buf.length - i);
    if (!buf.subarray(i, i + n).equals(n === ZEROS.length ? ZEROS : ZEROS.subarray(0, n)))
      return false;
  }
  return true;
}

/** Options for {@link SparseWriter.create}. */
export interface SparseWriterOptions {
  /** Permission bits for a newly created file (default 0o600; restore chmods later). */
  mode?: number;
  /**
   * Hole granularity in bytes (default 4096, the usual filesystem block). Zero runs of whole
   * blocks, aligned to file offsets, are skipped; other bytes are written.
   */
  blockSize?: number;
}

/**
 * Writes a restored file from chunks at arbitrary offsets, preserving holes: all-zero
 * blocks are not written (the file offset is simply skipped over), and {@link finish}
 * `ftruncate`s to the final size so trailing holes exist too. One `FileHandle` is opened per
 * file and reused for every write.
 *
 * The file is created or **truncated** on open, so skipped ranges read back as zeros.
 * Regions never written are holes, so chunks may arrive in any order.
 */
export class SparseWriter {
  /** Bytes actually written to disk. */
  bytesWritten = 0;
  /** Zero bytes skipped (left as holes). */
  bytesSkipped = 0;
  private closed = false;

  private constructor(
    readonly path: Buffer | string,
    /** The open handle (e.g. for fsync by the caller before {@link finish}). */
    readonly handle: FileHandle,
    private readonly blockSize: number,
  ) {}

  /** Creates (or truncates) `path` for writing. Throws a CofferError (NO_SPACE, PERMISSION_DENIED, ...). */
  static async create(path: Buffer | string, o: SparseWriterOptions = {}): Promise<SparseWriter> {
    try {
      const fh = await open(path, "w", o.mode ?? 0o600);
      return new SparseWriter(path, fh, o.blockSize ?? 4096);
    } catch (err) {
      throw fromSystemError(err, `Cannot create ${path.toString()}`);
    }
  }

  /** Writes `data` at byte `offset`, skipping whole zero blocks. */
  async write(offset: number, data: Uint8Array): Promise<void> {
    const bs = this.blockSize;
    let runStart = -1; // start index (in data) of the pending non-zero run
    let i = 0;
    const flush = async (end: number): Promise<void> => {
      if (runStart < 0) return;
      await this.writeAll(data.subarray(runStart, end), offset + runStart);
      runStart = -1;
    };
    try {
      while (i < data.length) {
        // next block boundary in file coordinates
        const next = Math.min(data.length, i + bs - ((offset + i) % bs));
        const block = data.subarray(i, next);
        if (next - i === bs && isAllZero(block)) {
          await flush(i);
          this.bytesSkipped += bs;
        } else if (runStart < 0) {
          runStart = i;
        }
        i = next;
      }
      await flush(data.length);
    } catch (err) {
      throw fromSystemError(err, `Cannot write ${this.path.toString()}`);
    }
  }

  /** Sets the final size with `ftruncate` (creating a trailing hole if needed) and closes. */
  async finish(size: number | bigint): Promise<void> {
    try {
      await this.handle.truncate(Number(size));
    } catch (err) {
      await this.abort();
      throw fromSystemError(err, `Cannot truncate ${this.path.toString()}`);
    }
    await this.close();
  }

  /** Closes without truncating (the partial file is left for the caller to remove). */
  async abort(): Promise<void> {
    await this.close().catch(() => undefined);
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }

  private async writeAll(buf: Uint8Array, pos: number): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.handle.write(buf, done, buf.length - done, pos + done);
      done += bytesWritten;
    }
    this.bytesWritten += buf.length;
  }
}
