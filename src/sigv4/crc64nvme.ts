/** Reflected CRC-64/NVME polynomial, split into 32-bit halves. */
const POLY_HI = 0x9a6c9329;
const POLY_LO = 0xac4bc9b5;

function buildTables(): { lo: Uint32Array[]; hi: Uint32Array[] } {
  const lo0 = new Uint32Array(256);
  const hi0 = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let lo = i;
    let hi = 0;
    for (let k = 0; k < 8; k++) {
      const bit = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (bit) {
        lo = (lo ^ POLY_LO) >>> 0;
        hi = (hi ^ POLY_HI) >>> 0;
      }
    }
    lo0[i] = lo;
    hi0[i] = hi;
  }
  const lo = [lo0];
  const hi = [hi0];
  for (let s = 1; s < 8; s++) {
    const pl = lo[s - 1]!;
    const ph = hi[s - 1]!;
    const tl = new Uint32Array(256);
    const th = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      const idx = pl[i]! & 0xff;
      tl[i] = (((pl[i]! >>> 8) | (ph[i]! << 24)) ^ lo0[idx]!) >>> 0;
      th[i] = ((ph[i]! >>> 8) ^ hi0[idx]!) >>> 0;
    }
    lo.push(tl);
    hi.push(th);
  }
  return { lo, hi };
}

const T = buildTables();

/** Incremental CRC-64/NVME (S3 `x-amz-checksum-crc64nvme`), slicing-by-8 on 32-bit halves. */
export class Crc64Nvme {
  private lo = 0xffffffff;
  private hi = 0xffffffff;

  /** Feeds bytes. */
  update(data: Uint8Array): this {
    const [l0, l1, l2, l3, l4, l5, l6, l7] = T.lo as [
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
    ];
    const [h0, h1, h2, h3, h4, h5, h6, h7] = T.hi as [
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
    ];
    let lo = this.lo;
    let hi = this.hi;
    let i = 0;
    const n = data.length;
    const end8 = n - (n % 8);
    while (i < end8) {
      const a =
        (lo ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
      const b =
        (hi ^
          (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24))) >>>
        0;
      const a0 = a & 0xff,
        a1 = (a >>> 8) & 0xff,
        a2 = (a >>> 16) & 0xff,
        a3 = a >>> 24;
      const b0 = b & 0xff,
        b1 = (b >>> 8) & 0xff,
        b2 = (b >>> 16) & 0xff,
        b3 = b >>> 24;
      lo = (l7[a0]! ^ l6[a1]! ^ l5[a2]! ^ l4[a3]! ^ l3[b0]! ^ l2[b1]! ^ l1[b2]! ^ l0[b3]!) >>> 0;
      hi = (h7[a0]! ^ h6[a1]! ^ h5[a2]! ^ h4[a3]! ^ h3[b0]! ^ h2[b1]! ^ h1[b2]! ^ h0[b3]!) >>> 0;
      i += 8;
    }
    while (i < n) {
      const idx = (lo ^ data[i++]!) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ l0[idx]!) >>> 0;
      hi = ((hi >>> 8) ^ h0[idx]!) >>> 0;
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
