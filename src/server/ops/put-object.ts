import type { ReceivedBody } from "../body.ts";
import type { ObjectContext, RequestContext } from "../context.ts";
import { checkKeyLayout, checkObjectKey } from "../keys.ts";
import { saveObjectHeaders, storedHeaders } from "../object-headers.ts";
import { receivePayload } from "../payload.ts";
import type { GatewayResponse } from "../request.ts";
import { S3Error } from "../s3/errors.ts";
import { admitObject } from "./admit-write.ts";
import { quoteEtag } from "./common.ts";

/**
 * Response header (on PutObject, GetObject, HeadObject) saying that `If-None-Match: *` is
 * atomic here; coffer's S3 client then skips its HEAD before content-addressed PUTs.
 */
export const CONDITIONAL_WRITES_HEADER = "x-coffer-conditional-writes";

/** Receives and verifies the request body into a temp file (nothing stored yet). */
export function receive(
  ctx: RequestContext,
  maxBytes = ctx.deps.config.maxObjectBytes,
  opts: { sync?: boolean } = {},
): Promise<ReceivedBody> {
  return receivePayload(ctx.req, ctx.caller, ctx.deps.tmpDir, maxBytes, opts);
}

/** True when an `If-None-Match: *` precondition is present. */
export function wantsIfNoneMatch(ctx: RequestContext): boolean {
  const v = ctx.req.headers["if-none-match"];
  if (v === undefined) return false;
  if (v.trim() !== "*")
    throw new S3Error("NotImplemented", "Only If-None-Match: * is supported on writes");
  return true;
}

/**
 * `If-Match` on PutObject (S3 conditional writes): the key must exist with that ETag (`*`: any),
 * else 404 NoSuchKey or 412. Checked before the body is read; write-once still decides after.
 */
async function checkIfMatch(ctx: ObjectContext): Promise<void> {
  const im = ctx.req.headers["if-match"];
  if (im === undefined) return;
  const rec = await ctx.deps.metadata.objects.get(ctx.target.bucket, ctx.target.key);
  if (rec === undefined)
    throw new S3Error("NoSuchKey", "The specified key does not exist.", { Key: ctx.target.key });
  const tags = im.split(",").map((t) => t.trim());
  if (im.trim() !== "*" && !tags.includes(quoteEtag(rec.etag)))
    throw new S3Error(
      "PreconditionFailed",
      "At least one of the pre-conditions you specified did not hold",
      { Condition: "If-Match" },
    );
}

/**
 * PutObject: verified body → write-once commit; manifests and index pack lists are parsed
 * and recorded; a pack uploaded again revives the index objects pending GC that name it.
 */
export async function putObject(ctx: ObjectContext): Promise<GatewayResponse> {
  const { bucket, key } = ctx.target;
  checkObjectKey(key);
  const ifNoneMatch = wantsIfNoneMatch(ctx);
  await checkKeyLayout(ctx.deps.metadata.db, bucket, key);
  if (ctx.req.headers["x-amz-copy-source"] !== undefined)
    throw new S3Error("NotImplemented", "CopyObject is not supported");
  const stored = storedHeaders(ctx.req.headers); // before the body: MetadataTooLarge reads nothing
  await checkIfMatch(ctx);
  // No fsync of the temp file: ObjectStore.commit makes the stored object durable before
  // it is linked into place, and the 200 below comes after that.
  const body = await receive(ctx, ctx.deps.config.maxObjectBytes, { sync: false });
  try {
    const admitted = await admitObject(ctx, body);
    const r = await ctx.deps.objects.commit(
      { bucket, key, path: body.path, size: body.size, sha256: body.sha256, etag: body.md5 },
      { ifNoneMatch, by: ctx.caller.accessKeyId, now: ctx.now },
    );
    await admitted.afterCommit(r.created);
    // Verified flexible checksums are kept, returned with x-amz-checksum-mode: ENABLED.
    if (r.created)
      await saveObjectHeaders(ctx.deps.metadata.db, bucket, key, {
        ...stored,
        ...Object.fromEntries(body.checksums),
      });
    const headers: Record<string, string> = {
      etag: quoteEtag(r.record.etag),
      [CONDITIONAL_WRITES_HEADER]: "if-none-match",
    };
    if (!r.created) headers["x-coffer-write"] = "identical";
    for (const [name, value] of body.checksums) headers[name] = value;
    return { status: 200, headers };
  } finally {
    await body.dispose();
  }
}
