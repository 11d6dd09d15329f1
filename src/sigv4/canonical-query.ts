import { percentDecode, uriEncode } from "./uri-encode.ts";

/** One decoded query parameter. Values and names are byte strings (may be non-UTF-8). */
export interface QueryParam {
  readonly name: Buffer;
  readonly value: Buffer;
}

/**
 * Parses a raw query string (without the leading `?`) into decoded parameters, in order.
 * `a` and `a=` both give an empty value; `+` decodes to a space; empty pieces (`a=1&&b`)
 * are skipped.
 */
export function parseQuery(rawQuery: string): QueryParam[] {
  const q = rawQuery.startsWith("?") ? rawQuery.slice(1) : rawQuery;
  const out: QueryParam[] = [];
  if (q === "") return out;
  for (const piece of q.split("&")) {
    if (piece === "") continue;
    const eq = piece.indexOf("=");
    const name = eq < 0 ? piece : piece.slice(0, eq);
    const value = eq < 0 ? "" : piece.slice(eq + 1);
    out.push({ name: percentDecode(name, true), value: percentDecode(value, true) });
  }
  return out;
}

/** Decoded query parameters as a UTF-8 map (last value wins); for reading `X-Amz-*`. */
export function queryMap(rawQuery: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const p of parseQuery(rawQuery)) m.set(p.name.toString("utf8"), p.value.toString("utf8"));
  return m;
}

/**
 * The canonical query string: every parameter URI-encoded (name and value, `/` encoded too),
 * sorted by encoded name then encoded value (byte order), joined as `name=value` with `&`.
 * Parameters whose decoded name is in `exclude` are left out (`X-Amz-Signature` for
 * presigned URLs).
 */
export function canonicalQuery(rawQuery: string, exclude: readonly string[] = []): string {
  const pairs: [string, string][] = [];
  for (const p of parseQuery(rawQuery)) {
    if (exclude.length > 0 && exclude.includes(p.name.toString("utf8"))) continue;
    pairs.push([uriEncode(p.name), uriEncode(p.value)]);
  }
  pairs.sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0,
  );
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}
