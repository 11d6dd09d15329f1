/** One blob's part of a byte range read. */
export interface BlobSlice {
  /** Index of the blob in the file's content list. */
  index: number;
  /** Offset inside the blob's plaintext. */
  start: number;
  /** Bytes taken from it. */
  length: number;
}

/**
 * Start offsets of a file's blobs from their plaintext sizes, plus the total as the last
 * element (`starts[i]` … `starts[i + 1]` is blob `i`).
 */
export function blobStarts(sizes: readonly number[]): number[] {
  const starts = new Array<number>(sizes.length + 1);
  let at = 0;
  for (let i = 0; i < sizes.length; i++) {
    starts[i] = at;
    at += sizes[i]!;
  }
  starts[sizes.length] = at;
  return starts;
}

/**
 * The blobs (and the part of each) that hold bytes `offset` … `offset + length` of a file
 * whose blobs start at `starts` (from {@link blobStarts}); the range is clipped at the end.
 */
export function planRead(starts: readonly number[], offset: number, length: number): BlobSlice[] {
  const total = starts[starts.length - 1] ?? 0;
  const end = Math.min(total, offset + length);
  if (offset >= end) return [];
  // binary search for the blob holding `offset`
  let lo = 0;
  let hi = starts.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  const out: BlobSlice[] = [];
  for (let i = lo; i < starts.length - 1 && starts[i]! < end; i++) {
    const bs = starts[i]!;
    const be = starts[i + 1]!;
    if (be <= offset || be === bs) continue; // before the range, or an empty blob
    const s = Math.max(offset, bs);
    const e = Math.min(end, be);
    out.push({ index: i, start: s - bs, length: e - s });
  }
  return out;
}
