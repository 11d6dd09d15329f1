import { userInfo } from "node:os";
import type { Dialect } from "../db/dialect.ts";
import { type AuditEntry, type AuditInput, AuditLog } from "./audit-log.ts";

function whoami(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? "unknown");
  }
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
