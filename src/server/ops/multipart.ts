import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ObjectContext, RequestContext } from "../context.ts";
import { checkKeyLayout, checkObjectKey } from "../keys.ts";
import {
  saveObjectHeaders,
  saveUploadHeaders,
  storedHeaders,
  uploadHeaders,
} from "../object-headers.ts";
import type { GatewayResponse } from "../request.ts";
import { S3Error } from "../s3/errors.ts";
import { xmlBlocks, xmlText } from "../s3/xml.ts";
import type { UploadRecord } from "../uploads.ts";
import { admitObject } from "./admit-write.ts";
import { isoTime, quoteEtag, xmlResponse } from "./common.ts";
import { receive, wantsIfNoneMatch } from "./put-object.ts";

/** Smallest part other than the last, as S3 (5 MiB). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_PART_BYTES = 5 * 1024 * 1024 * 1024;

function partDir(ctx: RequestContext, uploadId: string): string {
  return join(ctx.deps.stagingDir, uploadId);
}

async function requireUpload(ctx: ObjectContext): Promise<UploadRecord> {
  const id = ctx.target.query.get("uploadId") ?? "";
  const u = /^[0-9a-f]{32}$/.test(id) ? await ctx.deps.metadata.uploads.get(id) : undefined;
  if (u === undefined || u.bucket !== ctx.target.bucket || u.key !== ctx.target.key) {
    throw new S3Error("NoSuchUpload", "The specified multipart upload does not exist.", {
      UploadId: id,
    });
  }
  return u;
}

/** CreateMultipartUpload. */
export async function createUpload(ctx: ObjectContext): Promise<GatewayResponse> {
  const { bucket, key } = ctx.target;
  checkObjectKey(key);
  await checkKeyLayout(ctx.deps.metadata.db, bucket, key);
  const uploadId = randomBytes(16).toString("hex");
  const stored = storedHeaders(ctx.req.headers);
  await mkdir(partDir(ctx, uploadId), { recursive: true });
  await saveUploadHeaders(ctx.deps.metadata.db, uploadId, stored);
  await ctx.deps.metadata.uploads.create({
    uploadId,
    bucket,
    key,
    initiatedAt: ctx.now,
    initiatedBy: ctx.caller.accessKeyId,
  });
  return xmlResponse("InitiateMultipartUploadResult", {
    Bucket: bucket,
    Key: key,
    UploadId: uploadId,
  });
}

/** UploadPart: verified like a PutObject, kept in staging until completion. */
export async function uploadPart(ctx: ObjectContext): Promise<GatewayResponse> {
  const pn = ctx.target.query.get("partNumber") ?? "";
  if (!/^\d{1,5}$/.test(pn) || Number(pn) < 1 || Number(pn) > 10000) {
    throw new S3Error(
      "InvalidArgument",
      "Part number must be an integer between 1 and 10000, inclusive",
      { ArgumentName: "partNumber" },
    );
  }
  if (ctx.req.headers["x-amz-copy-source"] !== undefined)
    throw new S3Error("NotImplemented", "UploadPartCopy is not supported by coffer-server");
  const u = await requireUpload(ctx);
  const body = await receive(ctx, MAX_PART_BYTES);
  try {
    await rename(body.path, join(partDir(ctx, u.uploadId), pn));
  } catch (err) {
    await body.dispose();
    if ((err as { code?: string }).code === "ENOENT")
      throw new S3Error("NoSuchUpload", "The multipart upload was aborted meanwhile.");
    throw err;
  }
  await ctx.deps.metadata.uploads.putPart(u.uploadId, {
    partNumber: Number(pn),
    size: body.size,
    etag: body.md5,
    sha256: body.sha256,
    uploadedAt: ctx.now,
  });
  const headers: Record<string, string> = { etag: quoteEtag(body.md5) };
  for (const [name, value] of body.checksums) headers[name] = value;
  return { status: 200, headers };
}

/** The parts a CompleteMultipartUpload body lists (MalformedXML when it lists none). */
async function requestedParts(ctx: ObjectContext): Promise<{ partNumber: number; etag: string }[]> {
  const xmlBody = await receive(ctx, 4 * 1024 * 1024);
  let xml: string;
  try {
    xml = (await readFile(xmlBody.path)).toString("utf8");
  } finally {
    await xmlBody.dispose();
  }
  const wanted = xmlBlocks(xml, "Part").map((p) => ({
    partNumber: Number(xmlText(p, "PartNumber")),
    etag: (xmlText(p, "ETag") ?? "").replace(/^"|"$/g, ""),
  }));
  if (
    !xml.includes("CompleteMultipartUpload") ||
    wanted.length === 0 ||
    wanted.some((w) => !Number.isInteger(w.partNumber))
  ) {
    throw new S3Error(
      "MalformedXML",
      "The XML you provided was not well-formed or did not validate against our published schema.",
    );
  }
  return wanted;
}

/** The S3 ETag of a multipart object: MD5 of the parts' binary MD5s, `-N`. */
function multipartEtag(etags: readonly string[]): string | undefined {
  if (!etags.every((e) => /^[0-9a-f]{32}$/.test(e))) return undefined;
  const md5s = etags.map((e) => Buffer.from(e, "hex"));
  return `${createHash("md5").update(Buffer.concat(md5s)).digest("hex")}-${etags.length}`;
}

function completed(bucket: string, key: string, etag: string): GatewayResponse {
  return xmlResponse("CompleteMultipartUploadResult", {
    Location: `/${bucket}/${key}`,
    Bucket: bucket,
    Key: key,
    ETag: quoteEtag(etag),
  });
}

/**
 * CompleteMultipartUpload: concatenates the listed parts and commits write-once. Completing
 * an upload that already completed (a client retry after a lost answer) returns the same 200
 * when the stored object is the one these parts make.
 */
export async function completeUpload(ctx: ObjectContext): Promise<GatewayResponse> {
  const { bucket, key } = ctx.target;
  let u: UploadRecord;
  try {
    u = await requireUpload(ctx);
  } catch (err) {
    if (!(err instanceof S3Error) || err.code !== "NoSuchUpload") throw err;
    const etag = multipartEtag((await requestedParts(ctx)).map((w) => w.etag));
    const rec = await ctx.deps.metadata.objects.get(bucket, key);
    if (etag !== undefined && rec?.etag === etag) return completed(bucket, key, etag);
    throw err;
  }
  const ifNoneMatch = wantsIfNoneMatch(ctx);
  const wanted = await requestedParts(ctx);
  const stored = new Map(
    (await ctx.deps.metadata.uploads.parts(u.uploadId)).map((p) => [p.partNumber, p]),
  );
  let prev = 0;
  const md5s: Buffer[] = [];
  for (const [i, w] of wanted.entries()) {
    if (w.partNumber <= prev)
      throw new S3Error("InvalidPartOrder", "The list of parts was not in ascending order.");
    prev = w.partNumber;
    const p = stored.get(w.partNumber);
    if (p === undefined || p.etag !== w.etag) {
      throw new S3Error(
        "InvalidPart",
        `Part ${w.partNumber} could not be found or its ETag does not match.`,
      );
    }
    if (i < wanted.length - 1 && p.size < MIN_PART_BYTES) {
      throw new S3Error(
        "EntityTooSmall",
        `Part ${w.partNumber} is smaller than the minimum allowed size (5 MiB).`,
      );
    }
    md5s.push(Buffer.from(p.etag, "hex"));
  }
  const etag = `${createHash("md5").update(Buffer.concat(md5s)).digest("hex")}-${wanted.length}`;
  const tmp = join(ctx.deps.tmpDir, `mpu-${u.uploadId}-${randomBytes(4).toString("hex")}`);
  const sha = createHash("sha256");
  let size = 0;
  const out = await open(tmp, "wx", 0o600);
  try {
    for (const w of wanted) {
      for await (const chunk of createReadStream(
        join(partDir(ctx, u.uploadId), String(w.partNumber)),
        { highWaterMark: 1 << 20 },
      )) {
        const b = chunk as Buffer;
        sha.update(b);
        size += b.length;
        if (size > ctx.deps.config.maxObjectBytes)
          throw new S3Error(
            "EntityTooLarge",
            "The assembled object exceeds the maximum allowed size.",
          );
        let off = 0;
        while (off < b.length) off += (await out.write(b, off)).bytesWritten;
      }
    }
    await out.sync();
    await out.close();
    const sha256 = sha.digest("hex");
    await checkKeyLayout(ctx.deps.metadata.db, bucket, key);
    const admitted = await admitObject(ctx, { path: tmp, size, sha256 });
    const r = await ctx.deps.objects.commit(
      { bucket, key, path: tmp, size, sha256, etag },
      { ifNoneMatch, by: ctx.caller.accessKeyId, now: ctx.now },
    );
    await admitted.afterCommit(r.created);
    const stored = await uploadHeaders(ctx.deps.metadata.db, u.uploadId, { drop: true });
    if (r.created) await saveObjectHeaders(ctx.deps.metadata.db, bucket, key, stored);
    await ctx.deps.metadata.uploads.remove(u.uploadId);
    await rm(partDir(ctx, u.uploadId), { recursive: true, force: true });
    return completed(bucket, key, r.record.etag);
  } finally {
    await out.close().catch(() => undefined);
    await rm(tmp, { force: true });
  }
}

/** AbortMultipartUpload: drops the staged parts. */
export async function abortUpload(ctx: ObjectContext): Promise<GatewayResponse> {
  const u = await requireUpload(ctx);
  await uploadHeaders(ctx.deps.metadata.db, u.uploadId, { drop: true });
  await ctx.deps.metadata.uploads.remove(u.uploadId);
  await rm(partDir(ctx, u.uploadId), { recursive: true, force: true });
  return { status: 204, headers: {} };
}

/** ListParts. */
export async function listParts(ctx: ObjectContext): Promise<GatewayResponse> {
  const u = await requireUpload(ctx);
  const q = ctx.target.query;
  const marker = Number(q.get("part-number-marker") ?? "0") || 0;
  const max = Math.min(Number(q.get("max-parts") ?? "1000") || 1000, 1000);
  const parts = await ctx.deps.metadata.uploads.parts(u.uploadId, marker, max + 1);
  const shown = parts.slice(0, max);
  const truncated = parts.length > max;
  return xmlResponse("ListPartsResult", {
    Bucket: u.bucket,
    Key: u.key,
    UploadId: u.uploadId,
    PartNumberMarker: marker,
    NextPartNumberMarker: shown[shown.length - 1]?.partNumber ?? marker,
    MaxParts: max,
    IsTruncated: truncated,
    Part: shown.map((p) => ({
      PartNumber: p.partNumber,
      LastModified: isoTime(p.uploadedAt),
      ETag: quoteEtag(p.etag),
      Size: p.size,
    })),
    StorageClass: "STANDARD",
  });
}

/** ListMultipartUploads (bucket level). */
export async function listUploads(ctx: RequestContext): Promise<GatewayResponse> {
  const q = ctx.target.query;
  const prefix = q.get("prefix") ?? "";
  const keyMarker = q.get("key-marker") ?? "";
  const idMarker = q.get("upload-id-marker") ?? "";
  const max = Math.min(Number(q.get("max-uploads") ?? "1000") || 1000, 1000);
  const rows = await ctx.deps.metadata.uploads.list(
    ctx.target.bucket,
    prefix,
    keyMarker,
    idMarker,
    max + 1,
  );
  const shown = rows.slice(0, max);
  const last = shown[shown.length - 1];
  return xmlResponse("ListMultipartUploadsResult", {
    Bucket: ctx.target.bucket,
    KeyMarker: keyMarker,
    UploadIdMarker: idMarker,
    NextKeyMarker: last?.key ?? "",
    NextUploadIdMarker: last?.uploadId ?? "",
    Prefix: prefix,
    MaxUploads: max,
    IsTruncated: rows.length > max,
    Upload: shown.map((r) => ({
      Key: r.key,
      UploadId: r.uploadId,
      Initiator: { ID: r.initiatedBy, DisplayName: r.initiatedBy },
      Owner: { ID: r.initiatedBy, DisplayName: r.initiatedBy },
      StorageClass: "STANDARD",
      Initiated: isoTime(r.initiatedAt),
    })),
  });
}
