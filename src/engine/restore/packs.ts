import { closeSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { CofferError, isCofferError } from "../../core/errors.ts";
import type { BlobLocation } from "../../format/blob-table.ts";
import { shortId } from "../../format/ids.ts";
import { packKey } from "../../format/pack.ts";
import { LocalStorage } from "../../storage/local.ts";
import type { Storage } from "../../storage/storage.ts";

/** A blob to read: its hex ID and where the index says it lives. */
export interface WantedBlob {
  id: string;
  loc: BlobLocation;
}

/** One ranged GET: a run of blobs of one pack, sorted by offset. */
export interface PackRange {
  packId: string;
  offset: number;
  length: number;
  blobs: WantedBlob[];
}

/** Options for {@link planPackRanges}. */
export interface PlanOptions {
  /** Largest gap of unneeded bytes between two blobs that is still read through (default 1 MiB). */
  maxGap?: number;
  /** Largest single range (default 8 MiB); a range is never split inside a blob. */
  maxRange?: number;
  /** Largest sum of the plaintext lengths of one range's blobs (default 16 MiB). */
  maxRaw?: number;
}

/**
 * Groups blobs by pack, sorts each pack's blobs by offset and coalesces neighbours into
 * ranged reads. Ranges come out in the order their pack was first met in `blobs`, so callers
 * can order packs by when their blobs are first needed.
 */
export function planPackRanges(blobs: Iterable<WantedBlob>, o: PlanOptions = {}): PackRange[] {
  const maxGap = o.maxGap ?? 1024 * 1024;
  const maxRange = o.maxRange ?? 8 * 1024 * 1024;
  const maxRaw = o.maxRaw ?? 16 * 1024 * 1024;
  const byPack = new Map<string, WantedBlob[]>();
  for (const b of blobs) {
    let list = byPack.get(b.loc.packId);
    if (list === undefined) byPack.set(b.loc.packId, (list = []));
    list.push(b);
  }
  const out: PackRange[] = [];
  for (const [packId, list] of byPack) {
    list.sort((a, b) => a.loc.offset - b.loc.offset);
    let cur: PackRange | undefined;
    let raw = 0;
    for (const b of list) {
      const end = b.loc.offset + b.loc.length;
      if (cur !== undefined) {
        const curEnd = cur.offset + cur.length;
        if (
          b.loc.offset - curEnd <= maxGap &&
          end - cur.offset <= maxRange &&
          raw + b.loc.rawLength <= maxRaw
        ) {
          cur.length = Math.max(curEnd, end) - cur.offset;
          cur.blobs.push(b);
          raw += b.loc.rawLength;
          continue;
        }
      }
      cur = { packId, offset: b.loc.offset, length: b.loc.length, blobs: [b] };
      raw = b.loc.rawLength;
      out.push(cur);
    }
  }
  return out;
}

/**
 * Reads pack ranges in order. On a {@link LocalStorage} a range is one synchronous `pread`
 * loop into a single reused buffer (the result is a view, valid until the next read: no
 * allocation, no thread-pool hop, no promise per range); any other storage gets ranged
 * `get`s, up to `readAhead` ahead of the range being consumed.
 */
export class PackReader {
  #buf = Buffer.alloc(0);
  readonly #ahead = new Map<number, Promise<Uint8Array>>();
  readonly #localRoot: string | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly ranges: readonly PackRange[],
    private readonly readAhead = 4,
  ) {
    this.#localRoot = storage instanceof LocalStorage ? storage.root : undefined;
  }

  /**
   * The bytes of range `i` (shorter than asked when the pack is truncated). A local read goes
   * into `dst` when given (at least the range's length), else into the reader's own buffer.
   * @throws CofferError NOT_FOUND when the pack is missing, IO when it cannot be read.
   */
  async read(i: number, dst?: Buffer): Promise<Uint8Array> {
    const r = this.ranges[i]!;
    if (this.#localRoot !== undefined) return this.#readLocal(this.#localRoot, r, dst);
    for (let k = i; k < Math.min(this.ranges.length, i + this.readAhead); k++) {
      if (!this.#ahead.has(k)) {
        const rk = this.ranges[k]!;
        const p = this.storage.get(packKey(rk.packId), { offset: rk.offset, length: rk.length });
        p.catch(() => undefined); // consumed (and reported) when its turn comes
        this.#ahead.set(k, p);
      }
    }
    const p = this.#ahead.get(i)!;
    this.#ahead.delete(i);
    return p;
  }

  #readLocal(root: string, r: PackRange, dst: Buffer | undefined): Uint8Array {
    if (dst === undefined && this.#buf.length < r.length)
      this.#buf = Buffer.allocUnsafeSlow(Math.max(r.length, 1024 * 1024));
    const buf = dst ?? this.#buf;
    const key = packKey(r.packId);
    let fd: number;
    try {
      fd = openSync(join(root, ...key.split("/")), "r");
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT")
        throw new CofferError("NOT_FOUND", `Cannot read ${key}: not found`, { cause: err });
      throw new CofferError(
        "IO",
        `Cannot read ${key}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    try {
      let done = 0;
      while (done < r.length) {
        const n = readSync(fd, buf, done, r.length - done, r.offset + done);
        if (n === 0) break; // truncated pack: the blobs past the end are reported
        done += n;
      }
      return buf.subarray(0, done);
    } catch (err) {
      throw new CofferError(
        "IO",
        `Cannot read ${key}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    } finally {
      closeSync(fd);
    }
  }
}

/** The error for every blob of a range whose read failed. */
export function rangeError(r: PackRange, b: WantedBlob, err: unknown): CofferError {
  const missing = isCofferError(err, "NOT_FOUND");
  const why = missing
    ? "is missing"
    : `cannot be read (${err instanceof Error ? err.message : String(err)})`;
  return new CofferError(
    missing ? "NOT_FOUND" : "IO",
    `Cannot read blob ${shortId(b.id)}: pack ${shortId(r.packId)} ${why}`,
    { cause: err },
  );
}
