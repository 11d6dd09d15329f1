import { randomBytes } from "node:crypto";
import { authenticate } from "./auth.ts";
import { drain } from "./body.ts";
import type { GatewayDeps, ObjectContext, RequestContext } from "./context.ts";
import { gatewayObject } from "./gc/gateway-objects.ts";
import { getBucketLocation, headBucket, listBuckets } from "./ops/bucket.ts";
import { deleteObject, deleteObjects } from "./ops/delete.ts";
import { getObject } from "./ops/get-object.ts";
import { listObjects } from "./ops/list-objects.ts";
import {
  abortUpload,
  completeUpload,
  createUpload,
  listParts,
  listUploads,
  uploadPart,
} from "./ops/multipart.ts";
import { putObject } from "./ops/put-object.ts";
import type { GatewayRequest, GatewayResponse } from "./request.ts";
import { operationOf, resolveTarget, type Operation } from "./route.ts";
import { S3Error, toS3Error } from "./s3/errors.ts";
import { plainXml } from "./s3/xml.ts";

/** A finished request, for logs and (later) the audit log. */
export interface RequestLog {
  requestId: string;
  time: number;
  remoteAddress: string;
  method: string;
  operation: Operation | "Unknown";
  source?: string;
  accessKeyId?: string;
  bucket?: string;
  key?: string;
  status: number;
  errorCode?: string;
  bytesIn?: number;
  error?: unknown;
}

/**
 * Request hooks (the audit log, src/server/audit). `beforeWrite` runs after authentication and
 * isolation, before an operation that can change state; a throw refuses the request before
 * anything is stored. `afterRequest` records the finished request; a throw turns the
 * response into 500 InternalError.
 */
export interface RequestHooks {
  beforeWrite?(log: RequestLog, req: GatewayRequest): Promise<void>;
  afterRequest?(log: RequestLog, res: GatewayResponse, req: GatewayRequest): Promise<void>;
}

const WRITE_OPS: ReadonlySet<Operation> = new Set<Operation>([
  "PutObject",
  "DeleteObject",
  "DeleteObjects",
  "CreateMultipartUpload",
  "UploadPart",
  "CompleteMultipartUpload",
  "AbortMultipartUpload",
]);

function isObjectContext(ctx: RequestContext): ctx is ObjectContext {
  return ctx.target.key !== undefined;
}

/**
 * The S3 gateway core: request value in, response value out. Every request is SigV4-verified
 * and confined to its source's bucket before any operation runs. Nothing here knows about
 * node:http; see `node-adapter.ts` for the edge.
 */
export class Gateway {
  onRequest: ((log: RequestLog) => void) | undefined;
  hooks: RequestHooks = {};

  readonly #inFlight = new Set<Promise<GatewayResponse>>();

  constructor(readonly deps: GatewayDeps) {}

  /** Requests being handled now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Resolves once no request is being handled (shutdown: before the final audit anchor). */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async handle(req: GatewayRequest): Promise<GatewayResponse> {
    const p = this.#handle(req);
    this.#inFlight.add(p);
    try {
      return await p;
    } finally {
      this.#inFlight.delete(p);
    }
  }

  async #handle(req: GatewayRequest): Promise<GatewayResponse> {
    const requestId = randomBytes(8).toString("hex").toUpperCase();
    const now = this.deps.clock.now();
    const log: RequestLog = {
      requestId,
      time: now,
      remoteAddress: req.remoteAddress,
      method: req.method,
      operation: "Unknown",
      status: 0,
    };
    let res: GatewayResponse;
    try {
      res = await this.#dispatch(req, requestId, now, log);
    } catch (err) {
      const e = toS3Error(err);
      log.errorCode = e.code;
      if (e.code === "InternalError") log.error = err;
      res = errorResponse(e, req, requestId, log);
      // An authenticated client may finish sending what it was sending (bounded in size and,
      // by the edge, in idle time); an unauthenticated body is never read: the connection is
      // closed after the answer.
      // A client waiting for `100 Continue` has sent nothing: it gets the answer instead.
      const waiting = /100-continue/i.test(req.headers.expect ?? "");
      if (log.accessKeyId !== undefined && !waiting)
        await drain(req.body, 64 * 1024 * 1024).catch(() => undefined);
    }
    res.headers["x-amz-request-id"] = requestId;
    res.headers["x-amz-id-2"] = requestId;
    res.headers.server = "coffer-server";
    if (!Object.hasOwn(res.headers, "date")) res.headers.date = new Date(now).toUTCString(); // the gateway's clock (SDKs correct their skew from it)
    log.status = res.status;
    if (this.hooks.afterRequest !== undefined) {
      try {
        await this.hooks.afterRequest(log, res, req);
      } catch (err) {
        log.error = err;
        log.errorCode = "InternalError";
        res = errorResponse(
          new S3Error("InternalError", "The audit log could not be written"),
          req,
          requestId,
          log,
        );
        res.headers["x-amz-request-id"] = requestId;
        log.status = res.status;
      }
    }
    this.onRequest?.(log);
    return res;
  }

  async #dispatch(
    req: GatewayRequest,
    requestId: string,
    now: number,
    log: RequestLog,
  ): Promise<GatewayResponse> {
    // Path style first: it validates the path and names the target in the log of a refused
    // signature, without consulting any bucket list.
    const pathTarget = resolveTarget(req.rawPath, req.rawQuery, req.headers.host, () => false);
    log.operation = operationOf(req.method, pathTarget);
    if (pathTarget.bucket !== undefined) log.bucket = pathTarget.bucket;
    if (pathTarget.key !== undefined) log.key = pathTarget.key;
    const caller = await authenticate(req, this.deps.metadata.sources, now, {
      region: this.deps.config.region,
      maxSkewMs: this.deps.config.clockSkewMs,
    });
    log.source = caller.source.name;
    log.accessKeyId = caller.accessKeyId;
    // Virtual-host style is recognised for the caller's own bucket only: another source's
    // bucket and a bucket that does not exist are both read as path style, so the answers
    // cannot tell them apart.
    const target = resolveTarget(
      req.rawPath,
      req.rawQuery,
      req.headers.host,
      (b) => b === caller.source.bucket,
    );
    const op = operationOf(req.method, target);
    log.operation = op;
    delete log.bucket;
    delete log.key;
    if (target.bucket !== undefined) log.bucket = target.bucket;
    if (target.key !== undefined) log.key = target.key;
    if (op === "ListBuckets") return listBuckets(caller);
    if (target.bucket === undefined || op === "Unsupported") {
      throw new S3Error(
        "NotImplemented",
        `${req.method} on this resource is not supported by coffer-server`,
      );
    }
    // Isolation: a source's credentials reach its own bucket only; nothing reveals others.
    if (target.bucket !== caller.source.bucket) {
      throw new S3Error(
        "AccessDenied",
        `Access Denied: credentials of source ${caller.source.name} cannot access bucket ${target.bucket}`,
      );
    }
    if (op === "CreateBucket") {
      // As S3 answers an owner re-creating its bucket (rclone and others treat it as "exists").
      throw new S3Error(
        "BucketAlreadyOwnedByYou",
        `Your previous request to create the named bucket succeeded and you already own it (buckets are managed by the gateway operator)`,
      );
    }
    if (op === "DeleteBucket") {
      throw new S3Error(
        "AccessDenied",
        `Access Denied: buckets are managed by the gateway operator (${op} refused)`,
      );
    }
    // Server-side encryption is refused, never ignored: a client asking for it must not
    // believe its data is encrypted at rest by the gateway (coffer encrypts on the client).
    const sse = Object.keys(req.headers).find((h) => h.startsWith("x-amz-server-side-encryption"));
    if (sse !== undefined)
      throw new S3Error(
        "NotImplemented",
        `Server-side encryption (${sse}) is not supported by coffer-server; nothing was stored`,
      );
    if (WRITE_OPS.has(op) && this.hooks.beforeWrite !== undefined)
      await this.hooks.beforeWrite(log, req);
    const ctx: RequestContext = {
      deps: this.deps,
      req,
      target: { ...target, bucket: target.bucket },
      op,
      caller,
      requestId,
      now,
    };
    switch (op) {
      case "HeadBucket":
        return headBucket(ctx);
      case "GetBucketLocation":
        return getBucketLocation(ctx);
      case "ListObjectsV2":
        return listObjects(ctx, true);
      case "ListObjects":
        return listObjects(ctx, false);
      case "ListMultipartUploads":
        return listUploads(ctx);
      case "DeleteObjects":
        return deleteObjects(ctx);
      default:
        break;
    }
    if (!isObjectContext(ctx)) throw new S3Error("InvalidRequest", `${op} needs an object key`);
    const generated = await gatewayObject(ctx); // gateway/* (retention/GC state): read-only
    if (generated !== undefined) return generated;
    switch (op) {
      case "GetObject":
        return getObject(ctx, false);
      case "HeadObject":
        return getObject(ctx, true);
      case "PutObject":
        return putObject(ctx);
      case "DeleteObject":
        return deleteObject(ctx);
      case "CreateMultipartUpload":
        return createUpload(ctx);
      case "UploadPart":
        return uploadPart(ctx);
      case "CompleteMultipartUpload":
        return completeUpload(ctx);
      case "AbortMultipartUpload":
        return abortUpload(ctx);
      case "ListParts":
        return listParts(ctx);
      default:
        throw new S3Error("NotImplemented", `${String(op)} is not supported by coffer-server`);
    }
  }
}

/** Renders an S3 error: XML body, or headers only for HEAD. */
export function errorResponse(
  e: S3Error,
  req: GatewayRequest,
  requestId: string,
  log?: RequestLog,
): GatewayResponse {
  const headers: Record<string, string> = { "x-amz-error-code": e.code };
  if (req.method === "HEAD") return { status: e.status, headers };
  headers["content-type"] = "application/xml";
  const resource = req.rawPath;
  const body = plainXml("Error", {
    Code: e.code,
    Message: e.message,
    ...e.extra,
    ...(log?.key !== undefined ? { Key: log.key } : {}),
    ...(log?.bucket !== undefined ? { BucketName: log.bucket } : {}),
    Resource: resource,
    RequestId: requestId,
    HostId: requestId,
  });
  return { status: e.status, headers, body };
}
