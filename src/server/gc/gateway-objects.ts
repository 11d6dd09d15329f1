import type { ObjectContext } from "../context.ts";
import type { Metadata } from "../metadata.ts";
import type { GatewayResponse } from "../request.ts";
import { S3Error } from "../s3/errors.ts";
import { packIdOf } from "./run-gc.ts";

/** Prefix of the read-only, gateway-generated plaintext objects. */
export const GATEWAY_PREFIX = "gateway/";
/** Pending deletions of the bucket (docs/format.md, "Gateway objects"). */
export const PENDING_DELETIONS_KEY = "gateway/pending-deletions.json";
/** Packs a client must not deduplicate against (pending GC or destroyed). */
export const UNAVAILABLE_PACKS_KEY = "gateway/unavailable-packs.json";

/** `gateway/pending-deletions.json`: every PENDING deletion of the bucket. */
export async function pendingDeletionsDocument(
  md: Metadata,
  bucket: string,
  now: number,
): Promise<Record<string, unknown>> {
  const src = await md.sources.byBucket(bucket);
  const list = await md.deletions.list({ bucket, state: "PENDING" });
  return {
    v: 1,
    generatedAt: new Date(now).toISOString(),
    legalHold: src?.legalHold ?? false,
    deletions: list.map((d) => ({
      id: d.id,
      key: d.key,
      reason: d.reason,
      requestedAt: new Date(d.requestedAt).toISOString(),
      executeAfter: new Date(d.executeAfter).toISOString(),
    })),
  };
}

/**
 * `gateway/unavailable-packs.json`: `pending` = packs with a PENDING(gc) deletion (still
 * readable, but a new snapshot must not reference them); `gone` = packs destroyed and not
 * uploaded again.
 */
export async function unavailablePacksDocument(
  md: Metadata,
  bucket: string,
  now: number,
): Promise<{ v: 1; generatedAt: string; pending: string[]; gone: string[] }> {
  const pending = (
    await md.db.all<{ key: string }>(
      "SELECT key FROM deletions WHERE bucket = ? AND state = 'PENDING' AND substr(key, 1, 5) = 'data/' ORDER BY key",
      [bucket],
    )
  )
    .map((r) => packIdOf(r.key))
    .filter((x): x is string => x !== undefined);
  const gone = (
    await md.db.all<{ key: string }>(
      `SELECT DISTINCT d.key FROM deletions d WHERE d.bucket = ? AND d.state = 'EXECUTED' AND substr(d.key, 1, 5) = 'data/'
       AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.bucket = d.bucket AND o.key = d.key) ORDER BY d.key`,
      [bucket],
    )
  )
    .map((r) => packIdOf(r.key))
    .filter((x): x is string => x !== undefined);
  return { v: 1, generatedAt: new Date(now).toISOString(), pending, gone };
}

/**
 * Serves the gateway's generated objects under `gateway/` (GET/HEAD, always fresh from the
 * metadata) and refuses any write or delete there. Returns undefined for other keys.
 */
export async function gatewayObject(ctx: ObjectContext): Promise<GatewayResponse | undefined> {
  const { key, bucket } = ctx.target;
  if (!key.startsWith(GATEWAY_PREFIX)) return undefined;
  if (ctx.op !== "GetObject" && ctx.op !== "HeadObject") {
    throw new S3Error(
      "AccessDenied",
      `Access Denied: ${GATEWAY_PREFIX} objects are written by the gateway only (${ctx.op} refused)`,
    );
  }
  let doc: unknown;
  if (key === PENDING_DELETIONS_KEY)
    doc = await pendingDeletionsDocument(ctx.deps.metadata, bucket, ctx.now);
  else if (key === UNAVAILABLE_PACKS_KEY)
    doc = await unavailablePacksDocument(ctx.deps.metadata, bucket, ctx.now);
  else throw new S3Error("NoSuchKey", "The specified key does not exist.", { Key: key });
  const body = Buffer.from(JSON.stringify(doc) + "\n");
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "content-length": String(body.length),
    "last-modified": new Date(ctx.now).toUTCString(),
    "cache-control": "no-store",
  };
  return ctx.op === "HeadObject" ? { status: 200, headers } : { status: 200, headers, body };
}
