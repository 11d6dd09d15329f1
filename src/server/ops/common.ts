import type { GatewayResponse } from "../request.ts";
import { s3Xml, type XmlNode } from "../s3/xml.ts";

/** An XML 200 response. */
export function xmlResponse(
  root: string,
  body: XmlNode,
  status = 200,
  headers: Record<string, string> = {},
): GatewayResponse {
  return {
    status,
    headers: { "content-type": "application/xml", ...headers },
    body: s3Xml(root, body),
  };
}

/** S3's timestamp format in listings: `2026-01-31T23:00:00.000Z`. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** RFC 7231 date for Last-Modified. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** S3's URL encoding for `encoding-type=url` (keeps `/` readable, like S3). */
export function urlEncodeKey(s: string): string {
  return encodeURIComponent(s)
    .replace(/%2F/g, "/")
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Quotes an ETag value. */
export function quoteEtag(etag: string): string {
  return `"${etag}"`;
}
