import { createCipheriv, createHmac } from "node:crypto";
import { CofferError } from "../core/errors.ts";

/** Chunk size limits in bytes; `avg` must be a power of two and `min <= avg <= max`. */
export interface ChunkerParams {
  min: number;
  avg: number;
  max: number;
}

/** Format v1 defaults: min 512 KiB, average 1 MiB, max 8 MiB. */
export const DEFAULT_CHUNKER: ChunkerParams = {
  min: 512 * 1024,
  avg: 1024 * 1024,
  max: 8 * 1024 * 1024,
};

/**
 * The gear table (256 u32) for a chunker seed: the first 1024 bytes of the AES-256-CTR
 * keystream (key = HMAC-SHA256(seed, "coffer/v1/gear"), IV = 16 zero bytes), read as
 * little-endian u32.
 */
export function gearTable(seed: Uint8Array): Uint32Array {
  const key = createHmac("sha256", seed).update("coffer/v1/gear").digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  const stream = Buffer.concat([cipher.update(Buffer.alloc(1024)), cipher.final()]);
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) table[i] = stream.readUInt32LE(i * 4);
  return table;
}

/** Mask with the top `bits` bits of a 32-bit word set, as a signed int32. */
function topMask(bits: number): number {
  return bits >= 32 ? -1 : ~(-1 >>> bits) | 0;
}

/** Validates chunker parameters; BAD_INPUT on nonsense. */
export function checkChunkerParams(p: ChunkerParams): void {
  const pow2 = Number.isSafeInteger(p.avg) && p.avg >= 64 && (p.avg & (p.avg - 1)) === 0;
  if (
    !pow2 ||
    !Number.isSafeInteger(p.min) ||
    !Number.isSafeInteger(p.max) ||
    p.min < 0 ||
    p.min > p.avg ||
    p.avg > p.max ||
    p.max > 2 ** 31
  ) {
    throw new CofferError(
      "BAD_INPUT",
      `Invalid chunker parameters min=${p.min} avg=${p.avg} max=${p.max}`,
    );
  }
}

/**
 * Streaming FastCDC (normalised chunking, level 2) over a 32-bit gear hash
 * `h = (h << 1) + gear[byte]`. The first `min` bytes of a chunk are skipped without hashing
 * (h starts at 0); up to `avg` bytes a cut needs the top log2(avg)+2 bits of h to be zero,
 * after that the top log2(avg)-2 bits; a chunk is cut at `max` bytes regardless.
 *
 * Feed a file through {@link next} in any buffer sizes (the caller owns and reuses its
 * buffers); state carries between calls. Call {@link reset} before each new file. The bytes
 * left when a file ends form its last chunk.
 */
export class Chunker {
  private readonly gear: Int32Array;
  private readonly min: number;
  private readonly avg: number;
  private readonly max: number;
  private readonly maskS: number;
  private readonly maskL: number;
  private n = 0;
  private h = 0;

  constructor(gear: Uint32Array, params: ChunkerParams = DEFAULT_CHUNKER) {
    checkChunkerParams(params);
    if (gear.length !== 256)
      throw new CofferError("BAD_INPUT", "Invalid gear table: need 256 entries");
    this.gear = new Int32Array(gear.buffer.slice(gear.byteOffset, gear.byteOffset + 1024));
    this.min = params.min;
    this.avg = params.avg;
    this.max = params.max;
    const bits = Math.round(Math.log2(params.avg));
    this.maskS = topMask(bits + 2);
    this.maskL = topMask(Math.max(bits - 2, 1));
  }

  /** Bytes of the current (unfinished) chunk seen so far. */
  get pending(): number {
    return this.n;
  }

  /** Forgets the current chunk; call at the start of every file. */
  reset(): void {
    this.n = 0;
    this.h = 0;
  }

  /**
   * Scans `buf[start, end)` for the end of the current chunk. Returns the index in `buf`
   * just past the chunk's last byte (the chunk is everything fed since the previous cut,
   * up to that index), or -1 when no cut occurs before `end` (state carries to the next
   * call). After a cut the chunker is ready for the next chunk: call again from the
   * returned index.
   */
  next(buf: Uint8Array, start: number, end: number): number {
    let i = start;
    let n = this.n;
    if (n < this.min) {
      const skip = Math.min(this.min - n, end - i);
      i += skip;
      n += skip;
      if (n < this.min) {
        this.n = n;
        return -1;
      }
    }
    const g = this.gear;
    let h = this.h;
    if (n < this.avg) {
      const m = this.maskS;
      const stop = i + Math.min(this.avg - n, end - i);
      const base = i - n;
      while (i < stop) {
        h = ((h << 1) + g[buf[i++]!]!) | 0;
        if ((h & m) === 0) return this.cut(i);
      }
      n = i - base;
      if (n < this.avg) {
        this.n = n;
        this.h = h;
        return -1;
      }
    }
    const m = this.maskL;
    const stop = i + Math.min(this.max - n, end - i);
    const base = i - n;
    while (i < stop) {
      h = ((h << 1) + g[buf[i++]!]!) | 0;
      if ((h & m) === 0) return this.cut(i);
    }
    n = i - base;
    if (n >= this.max) return this.cut(i);
    this.n = n;
    this.h = h;
    return -1;
  }

  private cut(i: number): number {
    this.n = 0;
    this.h = 0;
    return i;
  }
}

/** Convenience: all chunk lengths of one in-memory buffer (tests, small inputs). */
export function chunkLengths(chunker: Chunker, data: Uint8Array): number[] {
  chunker.reset();
  const out: number[] = [];
  let from = 0;
  let pos = 0;
  while (pos < data.length) {
    const c = chunker.next(data, pos, data.length);
    if (c < 0) break;
    out.push(c - from);
    from = pos = c;
  }
  if (from < data.length) out.push(data.length - from);
  chunker.reset();
  return out;
}
