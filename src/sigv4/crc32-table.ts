/** Slicing-by-8 lookup tables for a reflected 32-bit CRC with polynomial `poly` (reversed form). */
export function crc32Tables(poly: number): Uint32Array[] {
  const t0 = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t0[i] = c >>> 0;
  }
  const tables = [t0];
  for (let s = 1; s < 8; s++) {
    const prev = tables[s - 1]!;
    const t = new Uint32Array(256);
    for (let i = 0; i < 256; i++) t[i] = ((prev[i]! >>> 8) ^ t0[prev[i]! & 0xff]!) >>> 0;
    tables.push(t);
  }
  return tables;
}

/**
 * Advances a reflected 32-bit CRC register (pre-inverted) over `data` using slicing-by-8
 * `tables` from {@link crc32Tables}. Returns the new register value.
 */
export function crc32Update(tables: readonly Uint32Array[], crc: number, data: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = tables as [
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
  ];
  let c = crc;
  let i = 0;
  const n = data.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const a =
      (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    c =
      t7[a & 0xff]! ^
      t6[(a >>> 8) & 0xff]! ^
      t5[(a >>> 16) & 0xff]! ^
      t4[a >>> 24]! ^
      t3[data[i + 4]!]! ^
      t2[data[i + 5]!]! ^
      t1[data[i + 6]!]! ^
      t0[data[i + 7]!]!;
    i += 8;
  }
  while (i < n) c = (c >>> 8) ^ t0[(c ^ data[i++]!) & 0xff]!;
  return c >>> 0;
}
