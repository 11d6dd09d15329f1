import type { ObjectContext } from "../context.ts";
import type { GatewayResponse } from "../request.ts";
import { loadObjectHeaders } from "../object-headers.ts";
import { S3Error } from "../s3/errors.ts";
import { httpDate, quoteEtag } from "./common.ts";
import { CONDITIONAL_WRITES_HEADER } from "./put-object.ts";

/** A parsed `Range: bytes=...` header: `[start, end]` inclusive, or `undefined` to ignore it. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return undefined; // multi-range or garbage: whole object, as S3
  const unsatisfiable = (): never => {
    throw new S3Error("InvalidRange", "The requested range is not satisfiable", {
      RangeRequested: header,
      ActualObjectSize: String(size),
    });
  };
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return unsatisfiable();
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return undefined; // invalid syntax → ignored, per RFC 9110
  if (start >= size) return unsatisfiable();
  return { start, end };
}

const etagList = (v: string): string[] => v.split(",").map((x) => x.trim());

function httpTime(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * S3's precedence of GET/HEAD preconditions: If-Match false → 412; else If-Unmodified-Since
 * (ignored when If-Match holds) false → 412; If-None-Match matching → 304; else
 * If-Modified-Since (ignored when If-None-Match is present and does not match) not modified
 * → 304. Unparsable dates are ignored, as S3 does. Times compare at whole seconds
 * (Last-Modified's precision).
 */
export function checkConditions(
  h: Readonly<Record<string, string>>,
  etag: string,
  modifiedMs: number,
): 200 | 304 {
  const modified = Math.floor(modifiedMs / 1000) * 1000;
  const im = h["if-match"];
  const imHolds = im !== undefined && (im.trim() === "*" || etagList(im).includes(etag));
  const fail = (condition: string): never => {
    throw new S3Error(
      "PreconditionFailed",
      "At least one of the pre-conditions you specified did not hold",
      { Condition: condition },
    );
  };
  if (im !== undefined && !imHolds) fail("If-Match");
  const ius = httpTime(h["if-unmodified-since"]);
  if (im === undefined && ius !== undefined && modified > ius) fail("If-Unmodified-Since");
  const inm = h["if-none-match"];
  if (inm !== undefined) {
    if (inm.trim() === "*" || etagList(inm).includes(etag)) return 304;
    return 200;
  }
  const ims = httpTime(h["if-modified-since"]);
  if (ims !== undefined && modified <= ims) return 304;
  return 200;
}

const OVERRIDES: Readonly<Record<string, string>> = {
  "response-content-type": "content-type",
  "response-content-language": "content-language",
  "response-expires": "expires",
  "response-cache-control": "cache-control",
  "response-content-disposition": "content-disposition",
  "response-content-encoding": "content-encoding",
};

/** GetObject's `response-*` query parameters set those response headers (as S3). */
function applyResponseOverrides(
  query: ReadonlyMap<string, string>,
  headers: Record<string, string>,
): void {
  for (const [param, header] of Object.entries(OVERRIDES)) {
    const v = query.get(param);
    if (v === undefined) continue;
    if (/[^\t\u0020-\u007e\u0080-\u00ff]/.test(v))
      throw new S3Error(
        "InvalidArgument",
        `Invalid ${param}: it must be printable ISO-8859-1 text`,
        {
          ArgumentName: param,
        },
      );
    headers[header] = v;
  }
}

/** GetObject and HeadObject, with single byte ranges (206) and 416 past the end. */
export async function getObject(ctx: ObjectContext, head: boolean): Promise<GatewayResponse> {
  const { bucket, key } = ctx.target;
  const rec = await ctx.deps.objects.require(bucket, key);
  const headers: Record<string, string> = {
    etag: quoteEtag(rec.etag),
    "last-modified": httpDate(rec.createdAt),
    "accept-ranges": "bytes",
    "content-type": "application/octet-stream",
    // The gateway's own fact, outside the x-amz-meta-* (user metadata) namespace.
    "x-coffer-sha256": rec.sha256,
    // Tells coffer's S3 client that If-None-Match: * is atomic here, so content-addressed
    // uploads need no HEAD first (src/storage/s3.ts).
    [CONDITIONAL_WRITES_HEADER]: "if-none-match",
  };
  const pending = await ctx.deps.metadata.deletions.pending(bucket, key);
  if (pending !== undefined) {
    headers["x-coffer-deletion"] = "pending";
    headers["x-coffer-deletion-execute-after"] = new Date(pending.executeAfter).toISOString();
  }
  // Values go out as their UTF-8 bytes (node writes header strings as latin1).
  const checksumMode = (ctx.req.headers["x-amz-checksum-mode"] ?? "").toUpperCase() === "ENABLED";
  for (const [k, v] of Object.entries(await loadObjectHeaders(ctx.deps.metadata.db, bucket, key))) {
    if (k.startsWith("x-amz-checksum-") && (!checksumMode || ctx.req.headers.range !== undefined))
      continue;
    headers[k] = Buffer.from(v, "utf8").toString("latin1");
  }
  const conditional = checkConditions(ctx.req.headers, quoteEtag(rec.etag), rec.createdAt);
  if (conditional === 304) return { status: 304, headers };
  applyResponseOverrides(ctx.target.query, headers);
  const range =
    ctx.req.headers.range === undefined ? undefined : parseRange(ctx.req.headers.range, rec.size);
  if (range === undefined) {
    headers["content-length"] = String(rec.size);
    if (head) return { status: 200, headers };
    const body = await ctx.deps.objects.read(bucket, key);
    return { status: 200, headers, body };
  }
  const length = range.end - range.start + 1;
  headers["content-length"] = String(length);
  headers["content-range"] = `bytes ${range.start}-${range.end}/${rec.size}`;
  if (head) return { status: 206, headers };
  const body = await ctx.deps.objects.read(bucket, key, { offset: range.start, length });
  return { status: 206, headers, body };
}
