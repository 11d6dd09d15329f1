import { claimedAccessKey } from "../auth.ts";
import type { RequestHooks, RequestLog } from "../gateway.ts";
import { requestedDeletions } from "../ops/delete.ts";
import type { GatewayRequest, GatewayResponse } from "../request.ts";
import type { AuditInput, AuditLog } from "./audit-log.ts";

function requestBytes(req: GatewayRequest): number | null {
  const v = req.headers["x-amz-decoded-content-length"] ?? req.headers["content-length"];
  const n = v === undefined ? NaN : Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

function responseBytes(res: GatewayResponse): number | null {
  const v = res.headers["content-length"];
  if (v !== undefined) return Number(v);
  if (typeof res.body === "string") return Buffer.byteLength(res.body);
  if (res.body instanceof Uint8Array) return res.body.length;
  return null;
}

function common(log: RequestLog, req: GatewayRequest): AuditInput {
  return {
    time: log.time,
    requestId: log.requestId,
    source: log.source ?? null,
    credential: log.accessKeyId ?? claimedAccessKey(req) ?? null,
    clientIp: log.remoteAddress,
    action: log.operation,
    key: log.key ?? null,
    result: "ok",
  };
}

/**
 * The gateway's audit hooks: a write-ahead `started` entry before every state-changing
 * operation (if it cannot be written, the request fails before anything is stored) and one
 * entry with the outcome for every request, refused and unauthenticated ones included.
 */
export function auditHooks(audit: AuditLog): RequestHooks {
  return {
    async beforeWrite(log, req) {
      await audit.append({ ...common(log, req), result: "started", bytes: requestBytes(req) });
    },
    async afterRequest(log, res, req) {
      const reading = log.operation === "GetObject" || log.operation === "HeadObject";
      const detail: Record<string, unknown> = { status: res.status, method: log.method };
      if (log.bucket !== undefined) detail.bucket = log.bucket;
      const del = res.headers["x-coffer-deletion"];
      if (del !== undefined && log.operation !== "GetObject" && log.operation !== "HeadObject") {
        detail.deletion = del;
        const id = res.headers["x-coffer-deletion-id"];
        if (id !== undefined) detail.deletionId = Number(id);
        const n = res.headers["x-coffer-deletions-pending"];
        if (n !== undefined) detail.deletionsPending = Number(n);
      }
      const entries: AuditInput[] = [
        {
          ...common(log, req),
          result: res.status < 400 ? "ok" : res.status < 500 ? "refused" : "failed",
          errorCode: log.errorCode ?? null,
          bytes: reading ? (res.status < 300 ? responseBytes(res) : null) : requestBytes(req),
          detail,
        },
      ];
      const many = requestedDeletions.get(res);
      if (many !== undefined) {
        // DeleteObjects: one entry per key, so each requested deletion is traceable on its own.
        for (const d of many) {
          entries.push({
            ...common(log, req),
            action: "deletion.requested",
            key: d.key,
            detail: { deletionId: d.id, executeAfter: new Date(d.executeAfter).toISOString() },
          });
        }
      } else if (detail.deletion === "pending" && detail.deletionId !== undefined) {
        entries.push({
          ...common(log, req),
          action: "deletion.requested",
          detail: {
            deletionId: detail.deletionId,
            executeAfter: res.headers["x-coffer-deletion-execute-after"] ?? null,
          },
        });
      }
      await audit.append(...entries);
    },
  };
}
