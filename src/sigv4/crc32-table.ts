/** True on little-endian hosts, where input words can be read through an `Int32Array` view. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Slicing-by-8 lookup table for a reflected 32-bit CRC with polynomial `poly` (reversed
 * form): 8 × 256 entries, slice `k` at offset `k * 256`.
 */
export function crc32Tables(poly: number): Int32Array {
  const t = new Int32Array(2048);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c;
  }
  for (let s = 1; s < 8; s++) {
    for (let i = 0; i < 256; i++) {
      const p = t[(s - 1) * 256 + i]!;
      t[s * 256 + i] = (p >>> 8) ^ t[p & 0xff]!;
    }
  }
  return t;
}

/**
 * Advances a reflected 32-bit CRC register (pre-inverted) over `data` using the slicing-by-8
 * table from {@link crc32Tables}. Returns the new register value (unsigned).
 */
export function crc32Update(t: Int32Array, crc: number, data: Uint8Array): number {
  let c = crc | 0;
  let i = 0;
  const n = data.length;
  const end8 = n - (n & 7);
  const w =
    LITTLE_ENDIAN && (data.byteOffset & 3) === 0
      ? new Int32Array(data.buffer, data.byteOffset, end8 >> 2)
      : undefined;
  while (i < end8) {
    const a =
      c ^
      (w
        ? w[i >> 2]!
        : data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    c =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + data[i + 4]!]! ^
      t[512 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
    i += 8;
  }
  while (i < n) c = (c >>> 8) ^ t[(c ^ data[i++]!) & 0xff]!;
  return c >>> 0;
}

/**
 * An incremental reflected 32-bit CRC over a slicing-by-8 table; `Crc32` and `Crc32c` differ
 * only in their table (polynomial).
 */
export class ReflectedCrc32 {
  private c = 0xffffffff;
  constructor(private readonly tables: Int32Array) {}
  /** Feeds bytes. */
  update(data: Uint8Array): this {
    this.c = crc32Update(this.tables, this.c, data);
    return this;
  }
  /** The CRC as an unsigned 32-bit number. */
  value(): number {
    return (this.c ^ 0xffffffff) >>> 0;
  }
  /** The CRC as 4 big-endian bytes (what S3 base64-encodes). */
  digest(): Buffer {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(this.value());
    return b;
  }
}
