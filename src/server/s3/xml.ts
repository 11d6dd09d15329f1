import { S3Error } from "./errors.ts";

/** Escapes text for XML element content and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] ?? c,
  );
}

/** A tiny XML tree: element name → text, nested element, or list of repeated elements. */
export type XmlValue = string | number | boolean | XmlNode | XmlNode[] | string[] | undefined;
export interface XmlNode {
  [name: string]: XmlValue;
}

function render(name: string, v: XmlValue): string {
  if (v === undefined) return "";
  if (Array.isArray(v)) return v.map((item) => render(name, item)).join("");
  if (typeof v === "object") {
    return `<${name}>${Object.entries(v)
      .map(([k, c]) => render(k, c))
      .join("")}</${name}>`;
  }
  return `<${name}>${xmlEscape(String(v))}</${name}>`;
}

const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/";

/** Renders an S3 response document with the S3 namespace on the root element. */
export function s3Xml(root: string, body: XmlNode): string {
  const inner = Object.entries(body)
    .map(([k, v]) => render(k, v))
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_NS}">${inner}</${root}>`;
}

/** Renders a document without a namespace (S3's `<Error>` has none). */
export function plainXml(root: string, body: XmlNode): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${render(root, body)}`;
}

/** XML 1.0 `Char`: a character reference outside it is not well-formed. */
function xmlChar(cp: number): string {
  const ok =
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff);
  if (!ok)
    throw new S3Error(
      "MalformedXML",
      "The XML you provided was not well-formed or did not validate against our published schema (a character reference names no XML character).",
    );
  return String.fromCodePoint(cp);
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    const lower = e.toLowerCase();
    if (lower.startsWith("#x")) return xmlChar(parseInt(lower.slice(2), 16));
    if (lower.startsWith("#")) return xmlChar(parseInt(lower.slice(1), 10));
    return (
      ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" } as Record<string, string>)[lower] ?? ""
    );
  });
}

/**
 * Extracts every `<tag>…</tag>` block at any depth (non-nested use only: CompleteMultipartUpload
 * parts and DeleteObjects entries). Returns raw inner XML.
 */
export function xmlBlocks(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, "g");
  for (let m = re.exec(xml); m !== null; m = re.exec(xml)) out.push(m[1] ?? "");
  return out;
}

/** The decoded text of the first `<tag>` in `xml`, or `undefined`. */
export function xmlText(xml: string, tag: string): string | undefined {
  const b = xmlBlocks(xml, tag)[0];
  if (b === undefined) {
    if (new RegExp(`<${tag}\\s*/>`).test(xml)) return "";
    return undefined;
  }
  return decodeEntities(b.replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, "$1"));
}
