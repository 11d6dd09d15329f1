/**
 * Request headers as the gateway sees them: lower-case names to one value or, for a header
 * repeated on the wire, every value in order (Node's `req.headersDistinct`).
 */
export type HeaderMap = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Every value of header `name` (lower-case), in wire order; `[]` when absent. */
export function headerValues(headers: HeaderMap, name: string): readonly string[] {
  const v = headers[name];
  if (v === undefined) return [];
  return typeof v === "string" ? [v] : v;
}

/** The single value of header `name`, values of a repeated header joined with `,`. */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const v = headerValues(headers, name);
  return v.length === 0 ? undefined : v.join(",");
}

/** Trims a header value and collapses runs of spaces/tabs (and folded line breaks) to one space. */
export function trimHeaderValue(value: string): string {
  return value
    .replace(/[ \t]*\r?\n[ \t]+/g, " ")
    .replace(/[ \t]+/g, " ")
    .trim();
}
