import type { DbInt } from "../db/dialect.ts";
import type { Metadata } from "../metadata.ts";
import { storageKey } from "../object-store.ts";
import type { Storage } from "../../storage/storage.ts";
import { executionStarted, recordStep } from "./workflow.ts";

/** What one executor pass did. */
export interface ExecutorReport {
  executed: { id: number; bucket: string; key: string }[];
  /** Due deletions skipped because their source is under legal hold. */
  held: number;
}

interface DueRow {
  id: number;
  bucket: string;
  key: string;
  legal_hold: number | null;
  execute_after: DbInt;
}

/**
 * Executes every PENDING deletion that is due (`execute_after <= now`) and whose source is
 * not under legal hold. Each one goes: step `start` (from then on it cannot be cancelled) →
 * storage delete (idempotent) → step `storage-deleted` → one transaction removing the
 * ledger row (and the manifest record) and marking it EXECUTED. A crash anywhere leaves it
 * PENDING with `start` recorded, and the next pass repeats the idempotent steps, even if a
 * legal hold was set meanwhile (its object may already be gone).
 */
export async function executeDue(
  md: Metadata,
  storage: Storage,
  now: number,
  by = "executor",
): Promise<ExecutorReport> {
  const rows = await md.db.all<DueRow>(
    `SELECT d.id, d.bucket, d.key, d.execute_after, s.legal_hold FROM deletions d LEFT JOIN sources s ON s.bucket = d.bucket
     WHERE d.state = 'PENDING' AND d.execute_after <= ? ORDER BY d.execute_after, d.id`,
    [now],
  );
  const report: ExecutorReport = { executed: [], held: 0 };
  for (const r of rows) {
    if (Number(r.execute_after) > now) continue;
    const started = await executionStarted(md.db, r.id);
    if ((r.legal_hold ?? 0) !== 0 && !started) {
      report.held++;
      continue;
    }
    if (!started) {
      // Claim it: a concurrent cancel is refused from here on.
      const claimed = await md.db.transaction(async (tx) => {
        const still = await tx.get<{ state: string }>("SELECT state FROM deletions WHERE id = ?", [
          r.id,
        ]);
        if (still?.state !== "PENDING") return false;
        await recordStep(tx, r.id, "start", now, by);
        return true;
      });
      if (!claimed) continue;
    }
    await storage.delete(storageKey(r.bucket, r.key));
    await recordStep(md.db, r.id, "storage-deleted", now);
    await md.db.transaction(async (tx) => {
      await tx.run("DELETE FROM objects WHERE bucket = ? AND key = ?", [r.bucket, r.key]);
      if (r.key.startsWith("manifests/"))
        await tx.run("DELETE FROM manifests WHERE bucket = ? AND key = ?", [r.bucket, r.key]);
      await tx.run(
        "UPDATE deletions SET state = 'EXECUTED', state_changed_at = ?, state_changed_by = ? WHERE id = ? AND state = 'PENDING'",
        [now, by, r.id],
      );
      await recordStep(tx, r.id, "executed", now);
    });
    report.executed.push({ id: r.id, bucket: r.bucket, key: r.key });
  }
  return report;
}
