import type { ObjectContext } from "../context.ts";
import type { GatewayResponse } from "../request.ts";
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

/** GetObject and HeadObject, with single byte ranges (206) and 416 past the end. */
export async function getObject(ctx: ObjectContext, head: boolean): Promise<GatewayResponse> {
  const { bucket, key } = ctx.target;
  const rec = await ctx.deps.objects.require(bucket, key);
  const headers: Record<string, string> = {
    etag: quoteEtag(rec.etag),
    "last-modified": httpDate(rec.createdAt),
    "accept-ranges": "bytes",
    "content-type": "application/octet-stream",
    "x-amz-meta-sha256": rec.sha256,
    // Tells coffer's S3 client that If-None-Match: * is atomic here, so content-addressed
    // uploads need no HEAD first (src/storage/s3.ts).
    [CONDITIONAL_WRITES_HEADER]: "if-none-match",
  };
  const pending = await ctx.deps.metadata.deletions.pending(bucket, key);
  if (pending !== undefined) {
    headers["x-coffer-deletion"] = "pending";
    headers["x-coffer-deletion-execute-after"] = new Date(pending.executeAfter).toISOString();
  }
  const inm = ctx.req.headers["if-none-match"];
  if (
    inm !== undefined &&
    (inm.trim() === "*" ||
      inm
        .split(",")
        .map((s) => s.trim())
        .includes(quoteEtag(rec.etag)))
  ) {
    return { status: 304, headers };
  }
  const im = ctx.req.headers["if-match"];
  if (
    im !== undefined &&
    im.trim() !== "*" &&
    !im
      .split(",")
      .map((s) => s.trim())
      .includes(quoteEtag(rec.etag))
  ) {
    throw new S3Error(
      "PreconditionFailed",
      "At least one of the pre-conditions you specified did not hold",
      { Condition: "If-Match" },
    );
  }
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
