import { LITTLE_ENDIAN } from "./crc32-table.ts";

/** Reflected CRC-64/NVME polynomial, split into 32-bit halves. */
const POLY_HI = 0x9a6c9329;
const POLY_LO = 0xac4bc9b5;

/** Slicing-by-8 tables (8 × 256, slice `k` at `k * 256`) for the low and high halves. */
function buildTables(): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(2048);
  const hi = new Int32Array(2048);
  for (let i = 0; i < 256; i++) {
    let l = i;
    let h = 0;
    for (let k = 0; k < 8; k++) {
      const bit = l & 1;
      l = (l >>> 1) | ((h & 1) << 31);
      h = h >>> 1;
      if (bit) {
        l ^= POLY_LO;
        h ^= POLY_HI;
      }
    }
    lo[i] = l;
    hi[i] = h;
  }
  for (let s = 1; s < 8; s++) {
    for (let i = 0; i < 256; i++) {
      const pl = lo[(s - 1) * 256 + i]!;
      const ph = hi[(s - 1) * 256 + i]!;
      const idx = pl & 0xff;
      lo[s * 256 + i] = ((pl >>> 8) | (ph << 24)) ^ lo[idx]!;
      hi[s * 256 + i] = (ph >>> 8) ^ hi[idx]!;
    }
  }
  return { lo, hi };
}

const { lo: LO, hi: HI } = buildTables();

/** Incremental CRC-64/NVME (S3 `x-amz-checksum-crc64nvme`), slicing-by-8 on 32-bit halves. */
export class Crc64Nvme {
  private lo = -1;
  private hi = -1;

  /** Feeds bytes. */
  update(data: Uint8Array): this {
    let lo = this.lo;
    let hi = this.hi;
    let i = 0;
    const n = data.length;
    const end8 = n - (n & 7);
    const w =
      LITTLE_ENDIAN && (data.byteOffset & 3) === 0
        ? new Int32Array(data.buffer, data.byteOffset, end8 >> 2)
        : undefined;
    while (i < end8) {
      let a: number;
      let b: number;
      if (w) {
        a = lo ^ w[i >> 2]!;
        b = hi ^ w[(i >> 2) + 1]!;
      } else {
        a = lo ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
        b = hi ^ (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24));
      }
      const x0 = 1792 + (a & 0xff);
      const x1 = 1536 + ((a >>> 8) & 0xff);
      const x2 = 1280 + ((a >>> 16) & 0xff);
      const x3 = 1024 + (a >>> 24);
      const y0 = 768 + (b & 0xff);
      const y1 = 512 + ((b >>> 8) & 0xff);
      const y2 = 256 + ((b >>> 16) & 0xff);
      const y3 = b >>> 24;
      lo = LO[x0]! ^ LO[x1]! ^ LO[x2]! ^ LO[x3]! ^ LO[y0]! ^ LO[y1]! ^ LO[y2]! ^ LO[y3]!;
      hi = HI[x0]! ^ HI[x1]! ^ HI[x2]! ^ HI[x3]! ^ HI[y0]! ^ HI[y1]! ^ HI[y2]! ^ HI[y3]!;
      i += 8;
    }
    while (i < n) {
      const idx = (lo ^ data[i++]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ LO[idx]!;
      hi = (hi >>> 8) ^ HI[idx]!;
    }
    this.lo = lo;
    this.hi = hi;
    return this;
  }

  /** The CRC as a bigint. */
  value(): bigint {
    return (BigInt((this.hi ^ 0xffffffff) >>> 0) << 32n) | BigInt((this.lo ^ 0xffffffff) >>> 0);
  }

  /** The CRC as 8 big-endian bytes (what S3 base64-encodes). */
  digest(): Buffer {
    const b = Buffer.allocUnsafe(8);
    b.writeUInt32BE((this.hi ^ 0xffffffff) >>> 0, 0);
    b.writeUInt32BE((this.lo ^ 0xffffffff) >>> 0, 4);
    return b;
  }
}

/** CRC-64/NVME of `data`. */
export function crc64nvme(data: Uint8Array): bigint {
  return new Crc64Nvme().update(data).value();
}
