import { CofferError } from "../../core/errors.ts";
import { shortId } from "../../format/ids.ts";
import type { MasterKey } from "../../format/master-key.ts";
import { BlobDecoder } from "./blob.ts";
import { outputSize, type DecodeSlot, type RestoreDecoder } from "./decoder.ts";
import { rangeError, type PackRange, type PackReader, type WantedBlob } from "./packs.ts";

/** What the range loops call back into: the restore's bookkeeping of files and errors. */
export interface RangeHandlers {
  /** Throws INTERRUPTED once the restore's signal aborted. */
  checkAbort(): void;
  /** True when every file that needs blob `id` already failed (its decode is skipped). */
  unwanted(id: string): boolean;
  /** Blob `b` of range `r` could not be read or verified: fails every file that needs it. */
  blobFailed(r: PackRange, b: WantedBlob, err: unknown): void;
  /** Writes the verified plaintext of `b` to every file that needs it. */
  deliver(b: WantedBlob, raw: Buffer): Promise<void>;
}

/**
 * Reads `ranges` one after the other and decodes their blobs on the main thread. Local reads
 * are synchronous, so the loop yields between ranges to let signals and progress timers in.
 */
export async function decodeRangesInline(
  master: MasterKey,
  reader: PackReader,
  ranges: readonly PackRange[],
  h: RangeHandlers,
): Promise<void> {
  const inline = new BlobDecoder(master);
  for (let i = 0; i < ranges.length; i++) {
    h.checkAbort();
    const r = ranges[i]!;
    let bytes: Uint8Array;
    try {
      bytes = await reader.read(i);
    } catch (err) {
      for (const b of r.blobs) h.blobFailed(r, b, rangeError(r, b, err));
      continue;
    }
    for (const b of r.blobs) {
      if (h.unwanted(b.id)) continue;
      let raw: Buffer;
      try {
        const bad = truncated(r, b, bytes.length);
        if (bad !== undefined) throw bad;
        const start = b.loc.offset - r.offset;
        raw = inline.decode(
          b.id,
          bytes.subarray(start, start + b.loc.length),
          b.loc.flags,
          b.loc.rawLength,
        );
      } catch (err) {
        h.blobFailed(r, b, err);
        continue;
      }
      await h.deliver(b, raw);
    }
    // local reads are synchronous: let signals and progress timers in between ranges
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * Pipeline through `workers` decode workers of `decoder`: range i is written while ranges
 * i+1 .. i+K-1 (K = 2 × workers + 1 shared-memory slots) are read and decoded.
 */
export async function decodeRangesPipelined(
  decoder: RestoreDecoder,
  workers: number,
  reader: PackReader,
  ranges: readonly PackRange[],
  h: Pick<RangeHandlers, "checkAbort" | "blobFailed" | "deliver">,
): Promise<void> {
  // pipeline: range i is written while ranges i+1 .. i+K-1 are read and decoded
  const dec = decoder;
  const k = 2 * workers + 1;
  // every slot sized once for the largest range: a slot that grew range by range left
  // its old buffers to both isolates' garbage collectors (~300 MiB peak RSS at 1/4 scale)
  let inputSize = 0;
  let outSize = 0;
  for (const r of ranges) {
    inputSize = Math.max(inputSize, r.length);
    outSize = Math.max(outSize, outputSize(r));
  }
  const slots: DecodeSlot[] = Array.from({ length: k }, () => ({
    input: new SharedArrayBuffer(inputSize),
    output: new SharedArrayBuffer(outSize),
  }));
  const inputs = slots.map((s) => Buffer.from(s.input));
  type Outcome = { read: unknown } | { length: number; results: (Buffer | CofferError)[] };
  const submit = async (i: number): Promise<Outcome> => {
    const r = ranges[i]!;
    const slot = slots[i % k]!;
    const input = inputs[i % k]!;
    let bytes: Uint8Array;
    try {
      bytes = await reader.read(i, input);
    } catch (err) {
      return { read: err };
    }
    if (bytes.buffer !== slot.input) input.set(bytes);
    return { length: bytes.length, results: await dec.decode(slot, bytes.length, r) };
  };
  const inflight = new Map<number, Promise<Outcome>>();
  let next = 0;
  for (let i = 0; i < ranges.length; i++) {
    h.checkAbort();
    for (; next < ranges.length && next < i + k; next++) {
      const p = submit(next);
      p.catch(() => undefined);
      inflight.set(next, p);
    }
    const r = ranges[i]!;
    const out = await inflight.get(i)!;
    inflight.delete(i);
    if ("read" in out) {
      for (const b of r.blobs) h.blobFailed(r, b, rangeError(r, b, out.read));
      continue;
    }
    for (let j = 0; j < r.blobs.length; j++) {
      const b = r.blobs[j]!;
      const res = truncated(r, b, out.length) ?? out.results[j]!;
      if (res instanceof CofferError) h.blobFailed(r, b, res);
      else await h.deliver(b, res);
    }
  }
}

/** CORRUPT when blob `b` of range `r` lies past the `length` bytes the read returned. */
function truncated(r: PackRange, b: WantedBlob, length: number): CofferError | undefined {
  return b.loc.offset - r.offset + b.loc.length > length
    ? new CofferError(
        "CORRUPT",
        `Cannot read blob ${shortId(b.id)}: pack ${shortId(r.packId)} is truncated`,
      )
    : undefined;
}
