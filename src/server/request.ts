/**
 * The gateway core's request value (Hono spirit): a plain description of an HTTP request
 * with a streaming body, independent of node:http.
 */
export interface GatewayRequest {
  method: string;
  /** The request target's path exactly as sent (percent-encoded), e.g. `/web-01/a%20b`. */
  rawPath: string;
  /** The raw query string without `?` (may be empty). */
  rawQuery: string;
  /** Header names in lower case; repeated headers joined with `,`. */
  headers: Readonly<Record<string, string>>;
  body: AsyncIterable<Uint8Array>;
  remoteAddress: string;
}

/** A body: bytes, text, or a stream of bytes. */
export type ResponseBody = Uint8Array | string | AsyncIterable<Uint8Array>;

/** The gateway core's response value. */
export interface GatewayResponse {
  status: number;
  headers: Record<string, string>;
  body?: ResponseBody;
}

/** Decodes `a=b&c` into an ordered list of [name, value], percent-decoding both. */
export function parseQuery(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  if (raw === "") return out;
  for (const part of raw.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? "" : part.slice(eq + 1);
    out.set(safeDecode(k), safeDecode(v));
  }
  return out;
}

/** `decodeURIComponent` with `+` kept literal (S3 semantics); malformed escapes stay as-is. */
export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
