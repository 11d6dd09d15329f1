import type { RequestContext } from "../context.ts";
import type { ObjectRecord } from "../ledger.ts";
import type { GatewayResponse } from "../request.ts";
import { S3Error } from "../s3/errors.ts";
import type { XmlNode } from "../s3/xml.ts";
import { isoTime, quoteEtag, urlEncodeKey, xmlResponse } from "./common.ts";

/** Sorts after every key that starts with the string it is appended to. */
const MAX_CHAR = "\u{10FFFF}";

function maxKeysOf(v: string | undefined): number {
  if (v === undefined) return 1000;
  if (!/^\d+$/.test(v))
    throw new S3Error("InvalidArgument", "max-keys must be a non-negative integer", {
      ArgumentName: "max-keys",
    });
  return Math.min(Number(v), 1000);
}

interface Page {
  contents: ObjectRecord[];
  prefixes: string[];
  truncated: boolean;
  /** Resume point (exclusive) when truncated. */
  next: string;
  /** Last key or common prefix returned (V1 NextMarker). */
  last: string;
}

/** Walks the ledger in key order, folding keys into common prefixes at `delimiter`. */
async function walk(
  ctx: RequestContext,
  prefix: string,
  delimiter: string,
  after: string,
  maxKeys: number,
): Promise<Page> {
  const { bucket } = ctx.target;
  const ledger = ctx.deps.metadata.objects;
  const page: Page = { contents: [], prefixes: [], truncated: false, next: after, last: "" };
  let cursor = after;
  const batch = Math.max(maxKeys + 1, 100);
  while (page.contents.length + page.prefixes.length < maxKeys) {
    const rows = await ledger.page(bucket, prefix, cursor, batch);
    if (rows.length === 0) return page;
    let restarted = false;
    for (const row of rows) {
      if (page.contents.length + page.prefixes.length >= maxKeys) break;
      const rest = row.key.slice(prefix.length);
      const at = delimiter === "" ? -1 : rest.indexOf(delimiter);
      if (at >= 0) {
        const cp = prefix + rest.slice(0, at + delimiter.length);
        page.prefixes.push(cp);
        page.last = cp;
        cursor = cp + MAX_CHAR;
        restarted = true;
        break;
      }
      page.contents.push(row);
      page.last = row.key;
      cursor = row.key;
    }
    if (
      !restarted &&
      rows.length < batch &&
      page.contents.length + page.prefixes.length < maxKeys
    ) {
      page.next = cursor;
      return page;
    }
  }
  page.next = cursor;
  page.truncated =
    maxKeys === 0 ? false : (await ledger.page(bucket, prefix, cursor, 1)).length > 0;
  return page;
}

/** ListObjectsV2 (`list-type=2`) and ListObjects (V1, `marker`). */
export async function listObjects(ctx: RequestContext, v2: boolean): Promise<GatewayResponse> {
  const q = ctx.target.query;
  const prefix = q.get("prefix") ?? "";
  const delimiter = q.get("delimiter") ?? "";
  const encoding = q.get("encoding-type");
  if (encoding !== undefined && encoding !== "url") {
    throw new S3Error("InvalidArgument", "Invalid Encoding Method specified in Request", {
      ArgumentName: "encoding-type",
    });
  }
  const enc = (s: string): string => (encoding === "url" ? urlEncodeKey(s) : s);
  const maxKeys = maxKeysOf(q.get("max-keys"));
  let after = "";
  const token = q.get("continuation-token");
  const startAfter = q.get("start-after");
  const marker = q.get("marker");
  if (v2 && token !== undefined && token !== "") {
    const decoded = Buffer.from(token, "base64url").toString("utf8");
    if (!decoded.startsWith("c1:"))
      throw new S3Error("InvalidArgument", "The continuation token provided is incorrect", {
        ArgumentName: "continuation-token",
      });
    after = decoded.slice(3);
  } else if (v2 && startAfter !== undefined) {
    after = startAfter;
  } else if (!v2 && marker !== undefined) {
    // A marker that is a common prefix resumes after everything under it.
    after =
      delimiter !== "" && marker.endsWith(delimiter) && marker.startsWith(prefix)
        ? marker + MAX_CHAR
        : marker;
  }
  const page = await walk(ctx, prefix, delimiter, after, maxKeys);
  // V1 always names the owner; V2 with fetch-owner=true (the source owns all it can list).
  const withOwner = !v2 || q.get("fetch-owner") === "true";
  const owner = { ID: ctx.caller.source.accessKeyId, DisplayName: ctx.caller.source.name };
  const contents: XmlNode[] = page.contents.map((o) => ({
    Key: enc(o.key),
    LastModified: isoTime(o.createdAt),
    ETag: quoteEtag(o.etag),
    Size: o.size,
    ...(withOwner ? { Owner: owner } : {}),
    StorageClass: "STANDARD",
  }));
  const prefixes: XmlNode[] = page.prefixes.map((p) => ({ Prefix: enc(p) }));
  const body: XmlNode = { Name: ctx.target.bucket, Prefix: enc(prefix) };
  if (v2) {
    if (token !== undefined) body.ContinuationToken = token;
    if (startAfter !== undefined) body.StartAfter = enc(startAfter);
    body.KeyCount = contents.length + prefixes.length;
  } else {
    body.Marker = enc(marker ?? "");
    if (page.truncated) body.NextMarker = enc(page.last);
  }
  body.MaxKeys = maxKeys;
  if (delimiter !== "") body.Delimiter = enc(delimiter);
  if (encoding !== undefined) body.EncodingType = encoding;
  body.IsTruncated = page.truncated;
  if (v2 && page.truncated)
    body.NextContinuationToken = Buffer.from("c1:" + page.next, "utf8").toString("base64url");
  body.Contents = contents;
  body.CommonPrefixes = prefixes;
  return xmlResponse("ListBucketResult", body);
}
