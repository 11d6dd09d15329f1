import { type DbInt, type Queryable } from "./db/dialect.ts";

/** Why a deletion was requested. */
export type DeletionReason = "user" | "retention" | "gc";
/** Deletion workflow state (issue 4 drives CANCELLED and EXECUTED). */
export type DeletionState = "PENDING" | "CANCELLED" | "EXECUTED";

/** A recorded deletion request. */
export interface Deletion {
  id: number;
  bucket: string;
  key: string;
  reason: DeletionReason;
  requestedBy: string;
  requestedAt: number;
  executeAfter: number;
  state: DeletionState;
  requestId: string | null;
}

/** A `deletions` table row as the database returns it. */
export interface DeletionRow {
  id: number;
  bucket: string;
  key: string;
  reason: DeletionReason;
  requested_by: string;
  requested_at: DbInt;
  execute_after: DbInt;
  state: DeletionState;
  request_id: string | null;
}

/** Maps a `deletions` row to a {@link Deletion}. */
export const deletionFromRow = (r: DeletionRow): Deletion => ({
  id: r.id,
  bucket: r.bucket,
  key: r.key,
  reason: r.reason,
  requestedBy: r.requested_by,
  requestedAt: Number(r.requested_at),
  executeAfter: Number(r.execute_after),
  state: r.state,
  requestId: r.request_id,
});

/**
 * The deletion ledger. A client DELETE only ever adds a PENDING row; at most one PENDING row
 * exists per (bucket, key), so repeating a DELETE returns the first request (its delay is
 * never restarted, never shortened).
 */
export class DeletionStore {
  constructor(private readonly db: Queryable) {}

  async request(o: {
    bucket: string;
    key: string;
    reason: DeletionReason;
    requestedBy: string;
    requestedAt: number;
    executeAfter: number;
    requestId: string;
  }): Promise<{ deletion: Deletion; created: boolean }> {
    const r = await this.db.run(
      `INSERT INTO deletions (bucket, key, reason, requested_by, requested_at, execute_after, state, request_id)
       VALUES (?, ?, ?, ?, ?, ?, 'PENDING', ?) ON CONFLICT (bucket, key) WHERE state = 'PENDING' DO NOTHING`,
      [o.bucket, o.key, o.reason, o.requestedBy, o.requestedAt, o.executeAfter, o.requestId],
    );
    const row = await this.db.get<DeletionRow>(
      "SELECT * FROM deletions WHERE bucket = ? AND key = ? AND state = 'PENDING'",
      [o.bucket, o.key],
    );
    if (row === undefined)
      throw new Error(`pending deletion of ${o.bucket}/${o.key} not found after insert`);
    return { deletion: deletionFromRow(row), created: r.changes === 1 };
  }

  async pending(bucket: string, key: string): Promise<Deletion | undefined> {
    const r = await this.db.get<DeletionRow>(
      "SELECT * FROM deletions WHERE bucket = ? AND key = ? AND state = 'PENDING'",
      [bucket, key],
    );
    return r === undefined ? undefined : deletionFromRow(r);
  }

  async list(filter: { bucket?: string; state?: DeletionState } = {}): Promise<Deletion[]> {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.bucket !== undefined) {
      where.push("bucket = ?");
      params.push(filter.bucket);
    }
    if (filter.state !== undefined) {
      where.push("state = ?");
      params.push(filter.state);
    }
    const sql = `SELECT * FROM deletions ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY id`;
    return (await this.db.all<DeletionRow>(sql, params)).map(deletionFromRow);
  }
}
