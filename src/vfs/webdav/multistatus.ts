import { displayPath } from "../../engine/repository/index.ts";

/** What PROPFIND shows of one resource. */
export interface DavEntry {
  /** Path bytes from the root, `/`-separated, without a trailing slash (`""` is the root). */
  pathBytes: Buffer;
  name: Buffer;
  collection: boolean;
  size: number;
  mtimeNs: bigint;
  etag?: string;
}

const UNRESERVED = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;

/** Percent-encodes path bytes for an href (every byte outside the safe set, `%` included). */
export function encodeHref(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && UNRESERVED.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Decodes a request path into byte components (`%xx` escapes may form any bytes). */
export function decodePath(urlPath: string): Buffer[] {
  const path = urlPath.split("?")[0] ?? "";
  return path
    .split("/")
    .filter((s) => s !== "")
    .map((seg) => {
      const bytes: number[] = [];
      for (let i = 0; i < seg.length; i++) {
        const c = seg.charCodeAt(i);
        if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(seg.slice(i + 1, i + 3))) {
          bytes.push(parseInt(seg.slice(i + 1, i + 3), 16));
          i += 2;
        } else bytes.push(...Buffer.from(seg[i]!, "utf8"));
      }
      return Buffer.from(bytes);
    });
}

function xml(s: string): string {
  return (
    s
      .replace(/[&<>"]/g, (c) =>
        c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;",
      )
      // characters XML 1.0 cannot carry at all
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, "\uFFFD")
  );
}

/** An HTTP date (RFC 9110 IMF-fixdate) of a time in ns. */
export function httpDate(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toUTCString();
}

/** The PROPFIND 207 body for `entries` (every property; requested ones are not filtered). */
export function multistatus(entries: readonly DavEntry[]): string {
  const parts = entries.map((e) => {
    const href = `/${encodeHref(e.pathBytes)}${e.collection && e.pathBytes.length > 0 ? "/" : ""}`;
    const props = [
      `<D:displayname>${xml(displayPath(e.name))}</D:displayname>`,
      e.collection ? "<D:resourcetype><D:collection/></D:resourcetype>" : "<D:resourcetype/>",
      `<D:getlastmodified>${httpDate(e.mtimeNs)}</D:getlastmodified>`,
    ];
    if (!e.collection) {
      props.push(
        `<D:getcontentlength>${String(e.size)}</D:getcontentlength>`,
        "<D:getcontenttype>application/octet-stream</D:getcontenttype>",
      );
      if (e.etag !== undefined) props.push(`<D:getetag>${xml(e.etag)}</D:getetag>`);
    }
    return (
      `<D:response><D:href>${href === "" ? "/" : href}</D:href><D:propstat><D:prop>${props.join("")}</D:prop>` +
      "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
    );
  });
  return `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">${parts.join("\n")}</D:multistatus>\n`;
}
