import { readFile } from "node:fs/promises";
import type { ObjectContext, RequestContext } from "../context.ts";
import type { Deletion } from "../deletions.ts";
import { checkObjectKey, isScratch } from "../keys.ts";
import type { GatewayResponse } from "../request.ts";
import { S3Error } from "../s3/errors.ts";
import { xmlBlocks, xmlText, type XmlNode } from "../s3/xml.ts";
import { xmlResponse } from "./common.ts";
import { receive } from "./put-object.ts";

/** What happened to one key a client asked to delete. */
export type DeleteOutcome =
  { kind: "destroyed" } | { kind: "absent" } | { kind: "pending"; deletion: Deletion };

/**
 * A client DELETE never destroys: it records a PENDING deletion (reason `user`) that runs
 * after max(source delay, server minimum). Keys under the source's scratch prefixes
 * (default `locks/`) are destroyed at once; keys that do not exist are a no-op, as in S3.
 */
export async function requestDelete(ctx: RequestContext, key: string): Promise<DeleteOutcome> {
  checkObjectKey(key);
  const { bucket } = ctx.target;
  const src = ctx.caller.source;
  if (isScratch(key, src.scratchPrefixes)) {
    await ctx.deps.objects.destroyScratch(bucket, key);
    return { kind: "destroyed" };
  }
  if ((await ctx.deps.metadata.objects.get(bucket, key)) === undefined) return { kind: "absent" };
  const delay = Math.max(src.deletionDelayMs, ctx.deps.config.minDeletionDelayMs);
  const { deletion } = await ctx.deps.metadata.deletions.request({
    bucket,
    key,
    reason: "user",
    requestedBy: ctx.caller.accessKeyId,
    requestedAt: ctx.now,
    executeAfter: ctx.now + delay,
    requestId: ctx.requestId,
  });
  return { kind: "pending", deletion };
}

function pendingHeaders(d: Deletion): Record<string, string> {
  return {
    "x-coffer-deletion": "pending",
    "x-coffer-deletion-id": String(d.id),
    "x-coffer-deletion-execute-after": new Date(d.executeAfter).toISOString(),
  };
}

/** DeleteObject → 204; pending deletions say so in `x-coffer-deletion: pending`. */
export async function deleteObject(ctx: ObjectContext): Promise<GatewayResponse> {
  const r = await requestDelete(ctx, ctx.target.key);
  if (r.kind === "pending") return { status: 204, headers: pendingHeaders(r.deletion) };
  return { status: 204, headers: { "x-coffer-deletion": r.kind } };
}

/**
 * The deletions a DeleteObjects response recorded, per key, for the audit hook (one
 * `deletion.requested` entry each); keyed by the response object, so nothing leaks to clients.
 */
export const requestedDeletions = new WeakMap<GatewayResponse, Deletion[]>();

/** DeleteObjects (POST ?delete): per key as DeleteObject; pending keys are marked in the result. */
export async function deleteObjects(ctx: RequestContext): Promise<GatewayResponse> {
  const h = ctx.req.headers;
  if (
    h["content-md5"] === undefined &&
    !Object.keys(h).some(
      (n) =>
        n.startsWith("x-amz-checksum-") ||
        n === "x-amz-sdk-checksum-algorithm" ||
        n === "x-amz-trailer",
    )
  ) {
    throw new S3Error(
      "InvalidRequest",
      "Missing required header for this request: Content-MD5 or x-amz-checksum-*",
    );
  }
  const body = await receive(ctx, 2 * 1024 * 1024);
  let xml: string;
  try {
    xml = (await readFile(body.path)).toString("utf8");
  } finally {
    await body.dispose();
  }
  if (!/<Delete[\s>]/.test(xml))
    throw new S3Error(
      "MalformedXML",
      "The XML you provided was not well-formed or did not validate against our published schema.",
    );
  const quiet = xmlText(xml, "Quiet") === "true";
  const keys = xmlBlocks(xml, "Object").map((o) => xmlText(o, "Key"));
  if (keys.length === 0 || keys.length > 1000 || keys.some((k) => k === undefined)) {
    throw new S3Error("MalformedXML", "DeleteObjects needs 1 to 1000 <Object><Key> entries.");
  }
  const deleted: XmlNode[] = [];
  const errors: XmlNode[] = [];
  const pendingList: Deletion[] = [];
  for (const key of keys as string[]) {
    try {
      const r = await requestDelete(ctx, key);
      if (r.kind === "pending") {
        pendingList.push(r.deletion);
        deleted.push({
          Key: key,
          CofferDeletion: "pending",
          CofferDeletionId: r.deletion.id,
          CofferExecuteAfter: new Date(r.deletion.executeAfter).toISOString(),
        });
      } else if (!quiet) deleted.push({ Key: key, CofferDeletion: r.kind });
    } catch (err) {
      if (!(err instanceof S3Error)) throw err;
      errors.push({ Key: key, Code: err.code, Message: err.message });
    }
  }
  const pending = pendingList.length;
  const headers: Record<string, string> =
    pending > 0
      ? { "x-coffer-deletion": "pending", "x-coffer-deletions-pending": String(pending) }
      : {};
  const res = xmlResponse("DeleteResult", { Deleted: deleted, Error: errors }, 200, headers);
  if (pending > 0) requestedDeletions.set(res, pendingList);
  return res;
}
