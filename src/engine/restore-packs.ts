import { CofferError, isCofferError } from "../core/errors.ts";
import { decodeBlob } from "../format/blob.ts";
import type { BlobLocation } from "../format/blob-table.ts";
import { shortId } from "../format/ids.ts";
import type { MasterKey } from "../format/master-key.ts";
import { packKey } from "../format/pack.ts";
import type { Storage } from "../storage/storage.ts";

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
  /** Largest single range (default 32 MiB); a range is never split inside a blob. */
  maxRange?: number;
}

/**
 * Groups blobs by pack, sorts each pack's blobs by offset and coalesces neighbours into
 * ranged reads. Ranges come out in the order their pack was first met in `blobs`, so callers
 * can order packs by when their blobs are first needed.
 */
export function planPackRanges(blobs: Iterable<WantedBlob>, o: PlanOptions = {}): PackRange[] {
  const maxGap = o.maxGap ?? 1024 * 1024;
  const maxRange = o.maxRange ?? 32 * 1024 * 1024;
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
    for (const b of list) {
      const end = b.loc.offset + b.loc.length;
      if (cur !== undefined) {
        const curEnd = cur.offset + cur.length;
        if (b.loc.offset - curEnd <= maxGap && end - cur.offset <= maxRange) {
          cur.length = Math.max(curEnd, end) - cur.offset;
          cur.blobs.push(b);
          continue;
        }
      }
      cur = { packId, offset: b.loc.offset, length: b.loc.length, blobs: [b] };
      out.push(cur);
    }
  }
  return out;
}

/** Callbacks and limits for {@link readPackRanges}. */
export interface ReadRangesOptions {
  /** Ranged GETs in flight at once (default 4). */
  concurrency?: number;
  /** Receives each verified blob's plaintext. Awaited before the range's next blob. */
  onBlob: (blob: WantedBlob, raw: Buffer) => void | Promise<void>;
  /** Receives each blob that could not be read or failed verification. */
  onBlobError: (blob: WantedBlob, err: CofferError) => void | Promise<void>;
  /**
   * Decodes a sealed blob (default: {@link decodeBlob} on this thread). A worker pool can be
   * plugged in here.
   */
  decode?: (blob: WantedBlob, sealed: Uint8Array) => Buffer | Promise<Buffer>;
  /**
   * Decodes a whole range at once (e.g. on a worker thread; `bytes` may be transferred):
   * per blob of `blobs` (offsets relative to `bytes`), the plaintext or the error. Takes
   * precedence over `decode`.
   */
  decodeRange?: (bytes: Uint8Array, blobs: [string, number, number, number, number][]) => Promise<(Buffer | CofferError)[]>;
  signal?: AbortSignal;
}

/**
 * Reads `ranges` with up to `concurrency` ranged GETs in flight, decrypts, decompresses and
 * verifies every blob (the plaintext must hash to its ID), and hands each to `onBlob`, or to
 * `onBlobError` when its pack is missing, short or the blob is damaged. Never throws for
 * damage; throws INTERRUPTED when `signal` aborts, and rethrows what the callbacks throw.
 */
export async function readPackRanges(
  storage: Storage,
  master: MasterKey,
  ranges: readonly PackRange[],
  o: ReadRangesOptions,
): Promise<void> {
  const decode =
    o.decode ?? ((b: WantedBlob, sealed: Uint8Array) => decodeBlob(master, "data", sealed, b.loc.flags, b.id, b.loc.rawLength));
  let next = 0;
  let failure: unknown;
  const run = async (): Promise<void> => {
    while (failure === undefined && next < ranges.length) {
      if (o.signal?.aborted === true) throw new CofferError("INTERRUPTED", "Restore interrupted");
      const r = ranges[next++]!;
      try {
        await readOne(storage, r, decode, o);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  const n = Math.max(1, Math.min(o.concurrency ?? 4, ranges.length));
  await Promise.all(Array.from({ length: n }, run));
  if (failure !== undefined) throw failure as Error;
}

async function readOne(
  storage: Storage,
  r: PackRange,
  decode: (blob: WantedBlob, sealed: Uint8Array) => Buffer | Promise<Buffer>,
  o: ReadRangesOptions,
): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await storage.get(packKey(r.packId), { offset: r.offset, length: r.length });
  } catch (err) {
    const why = isCofferError(err, "NOT_FOUND") ? "is missing" : `cannot be read (${err instanceof Error ? err.message : String(err)})`;
    for (const b of r.blobs) {
      await o.onBlobError(b, new CofferError(isCofferError(err, "NOT_FOUND") ? "NOT_FOUND" : "IO", `Cannot read blob ${shortId(b.id)}: pack ${shortId(r.packId)} ${why}`, { cause: err }));
    }
    return;
  }
  if (o.decodeRange !== undefined) {
    const ok: WantedBlob[] = [];
    for (const b of r.blobs) {
      if (b.loc.offset - r.offset + b.loc.length > bytes.length) {
        await o.onBlobError(b, new CofferError("CORRUPT", `Cannot read blob ${shortId(b.id)}: pack ${shortId(r.packId)} is truncated`));
      } else ok.push(b);
    }
    const results = await o.decodeRange(
      bytes,
      ok.map((b) => [b.id, b.loc.offset - r.offset, b.loc.length, b.loc.flags, b.loc.rawLength]),
    );
    for (let k = 0; k < ok.length; k++) {
      const b = ok[k]!;
      const res = results[k];
      if (res !== undefined && !(res instanceof CofferError)) await o.onBlob(b, res);
      else {
        const e = res ?? new CofferError("CORRUPT", `Cannot read blob ${shortId(b.id)}: no result`);
        await o.onBlobError(b, new CofferError(e.code, `${e.message} (pack ${shortId(r.packId)})`, { cause: e }));
      }
    }
    return;
  }
  for (const b of r.blobs) {
    const start = b.loc.offset - r.offset;
    const end = start + b.loc.length;
    if (end > bytes.length) {
      await o.onBlobError(b, new CofferError("CORRUPT", `Cannot read blob ${shortId(b.id)}: pack ${shortId(r.packId)} is truncated`));
      continue;
    }
    let raw: Buffer;
    try {
      raw = await decode(b, bytes.subarray(start, end));
    } catch (err) {
      const e = err instanceof CofferError ? err : new CofferError("CORRUPT", `Cannot read blob ${shortId(b.id)}: ${String(err)}`, { cause: err });
      await o.onBlobError(b, new CofferError(e.code, `${e.message} (pack ${shortId(r.packId)})`, { cause: e }));
      continue;
    }
    await o.onBlob(b, raw);
  }
}
