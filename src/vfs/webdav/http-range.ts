/** A satisfiable byte range, inclusive `end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header against a resource of `size` bytes. Only a single range is
 * served (a multi-range request gets the whole resource, which RFC 9110 allows). Returns
 * "none" (no or unsupported header: send everything), "unsatisfiable" (416) or the range.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | "none" | "unsatisfiable" {
  if (header === undefined) return "none";
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (m === null) return "none"; // multiple ranges or another unit: the whole resource
  const [, a = "", b = ""] = m;
  if (a === "" && b === "") return "none";
  if (a === "") {
    const n = Number(b);
    if (n === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (start >= size) return "unsatisfiable";
  const end = b === "" ? size - 1 : Math.min(Number(b), size - 1);
  if (end < start) return "none";
  return { start, end };
}
