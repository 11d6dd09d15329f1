import { userInfo } from "node:os";
import type { Dialect, Queryable } from "../db/dialect.ts";
import { type AuditEntry, type AuditInput, AuditLog, appendTx } from "./audit-log.ts";

function whoami(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? "unknown");
  }
}

/** The actor of an admin command: `admin:<OS user>` (later the user or token). */
export function adminActor(): string {
  return `admin:${whoami()}`;
}

/**
 * Records an admin action inside the caller's transaction, so the change and its audit entry
 * commit together. `by` is the actor ({@link adminActor}, or `gateway` for the server).
 */
export async function auditAdminTx(
  tx: Queryable,
  e: { time: number; by: string; action: string; source: string; detail?: Record<string, unknown> },
): Promise<void> {
  await appendTx(tx, [
    {
      time: e.time,
      credential: e.by,
      clientIp: "local",
      source: e.source,
      action: e.action,
      result: "ok",
      ...(e.detail !== undefined ? { detail: e.detail } : {}),
    },
  ]);
}

/**
 * Records an admin/CLI or server-side action (source add/rotate/disable, retention decision,
 * deletion requested/cancelled/executed, ...). `credential` defaults to `admin:<os user>`,
 * `clientIp` to `local`. Throws when the entry cannot be written: callers should treat the
 * action as failed (or run it in the same transaction with {@link appendTx}).
 *
 * ```ts
 * await auditAction(metadata.db, { time: now, action: "deletion.cancelled", source: "web-01", key, detail: { deletionId: 7 } });
 * ```
 */
export async function auditAction(
  db: Dialect,
  e: Omit<AuditInput, "result"> & { result?: AuditInput["result"] },
): Promise<AuditEntry> {
  const [entry] = await new AuditLog(db).append({
    credential: `admin:${whoami()}`,
    clientIp: "local",
    result: "ok",
    ...e,
  });
  if (entry === undefined) throw new Error("audit append returned nothing");
  return entry;
}
