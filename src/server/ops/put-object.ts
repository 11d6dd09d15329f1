import { readFile } from "node:fs/promises";
import { isCofferError } from "../../core/errors.ts";
import { parseManifest } from "../../format/manifest.ts";
import type { ReceivedBody } from "../body.ts";
import { checkIndexUpload, recordIndex, reviveIndexesOf } from "../gc/index-lists.ts";
import { admitManifest } from "../gc/manifest-refs.ts";
import { packIdOf } from "../gc/run-gc.ts";
import type { ObjectContext, RequestContext } from "../context.ts";
import { checkObjectKey } from "../keys.ts";
import type { ManifestFacts } from "../manifests.ts";
import { receivePayload } from "../payload.ts";
import type { GatewayResponse } from "../request.ts";
import { S3Error } from "../s3/errors.ts";
import { quoteEtag } from "./common.ts";

const MANIFEST_PREFIX = "manifests/";

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
 * Validates a manifest upload before it is stored: the key must be `manifests/<sha256 of
 * the bytes>` and the body a valid v1 manifest (format/manifest.ts, strict).
 */
async function checkManifest(key: string, body: ReceivedBody): Promise<ManifestFacts | undefined> {
  if (!key.startsWith(MANIFEST_PREFIX)) return undefined;
  const id = key.slice(MANIFEST_PREFIX.length);
  if (!/^[0-9a-f]{64}$/.test(id))
    throw new S3Error(
      "InvalidManifest",
      `Invalid manifest key ${key}: expected manifests/<64 hex digits>`,
    );
  if (id !== body.sha256)
    throw new S3Error(
      "InvalidManifest",
      `Invalid manifest ${id.slice(0, 12)}: its name is not the SHA-256 of its bytes`,
    );
  try {
    const m = parseManifest(await readFile(body.path));
    return {
      snapshot: m.snapshot,
      host: m.host,
      tags: m.tags,
      time: m.time,
      stats: m.stats,
      packs: m.packs,
    };
  } catch (err) {
    if (isCofferError(err)) throw new S3Error("InvalidManifest", err.message, {}, { cause: err });
    throw err;
  }
}

/**
 * PutObject: verified body → write-once commit; manifests and index pack lists are parsed
 * and recorded; a pack uploaded again revives the index objects pending GC that name it.
 */
export async function putObject(ctx: ObjectContext): Promise<GatewayResponse> {
  const { bucket, key } = ctx.target;
  checkObjectKey(key);
  const ifNoneMatch = wantsIfNoneMatch(ctx);
  if (ctx.req.headers["x-amz-copy-source"] !== undefined)
    throw new S3Error("NotImplemented", "CopyObject is not supported");
  // No fsync of the temp file: ObjectStore.commit makes the stored object durable before
  // it is linked into place, and the 200 below comes after that.
  const body = await receive(ctx, ctx.deps.config.maxObjectBytes, { sync: false });
  try {
    const manifest = await checkManifest(key, body);
    if (manifest !== undefined) await admitManifest(ctx, manifest); // GC: refuse destroyed packs, revive pending ones
    const index = await checkIndexUpload(key, body); // its plaintext pack list, for index GC
    const r = await ctx.deps.objects.commit(
      { bucket, key, path: body.path, size: body.size, sha256: body.sha256, etag: body.md5 },
      { ifNoneMatch, by: ctx.caller.accessKeyId, now: ctx.now },
    );
    if (manifest !== undefined)
      await ctx.deps.metadata.manifests.record(bucket, key, manifest, ctx.now);
    if (index !== undefined) await recordIndex(ctx.deps.metadata.db, bucket, key, index, ctx.now);
    const pack = r.created ? packIdOf(key) : undefined;
    if (pack !== undefined) await reviveIndexesOf(ctx.deps.metadata, bucket, pack, ctx.now);
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
