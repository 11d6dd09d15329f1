import { auditAdminTx } from "../audit/admin.ts";
import { appendTx } from "../audit/audit-log.ts";
import { CofferError } from "../../core/errors.ts";
import type { DbInt, Dialect, Queryable } from "../db/dialect.ts";
import {
  deletionFromRow,
  type Deletion,
  type DeletionReason,
  type DeletionRow,
  type DeletionState,
} from "../deletions.ts";
import type { Metadata } from "../metadata.ts";
import type { Source } from "../sources.ts";

export type { Deletion, DeletionReason, DeletionState } from "../deletions.ts";

/** A deletion with its source and execution steps (for listings). */
export interface DeletionView extends Deletion {
  source: string;
  legalHold: boolean;
  stateChangedAt: number | null;
  stateChangedBy: string | null;
}

/** The delay a new deletion of `source` gets: max(source delay, server minimum). */
export function deletionDelay(source: Pick<Source, "deletionDelayMs">, minDelayMs: number): number {
  return Math.max(source.deletionDelayMs, minDelayMs);
}

/**
 * Appends one step of a deletion's life (`requested`, `cancelled`, `start`, `storage-deleted`,
 * `executed`) to `deletion_steps` and, in the same transaction, to the hash-chained audit log
 * as `deletion.<step>` (a user's request is already audited by the DELETE handler, so only
 * retention and GC requests are audited here). Works inside a caller's transaction or opens one.
 */
export async function recordStep(
  db: Queryable | Dialect,
  deletionId: number,
  step: string,
  at: number,
  detail?: string,
  actor = "gateway",
): Promise<void> {
  const write = async (tx: Queryable): Promise<void> => {
    await tx.run("INSERT INTO deletion_steps (deletion_id, step, at, detail) VALUES (?, ?, ?, ?)", [
      deletionId,
      step,
      at,
      detail ?? null,
    ]);
    const d = await tx.get<{ key: string; reason: string; source: string | null; bucket: string }>(
      "SELECT d.key, d.reason, d.bucket, s.name AS source FROM deletions d LEFT JOIN sources s ON s.bucket = d.bucket WHERE d.id = ?",
      [deletionId],
    );
    if (d === undefined || (step === "requested" && d.reason === "user")) return;
    await appendTx(tx, [
      {
        time: at,
        credential: actor,
        clientIp: "local",
        source: d.source ?? d.bucket,
        action: `deletion.${step}`,
        key: d.key,
        result: "ok",
        detail: { deletionId, reason: d.reason, ...(detail !== undefined ? { detail } : {}) },
      },
    ]);
  };
  if ("transaction" in db) await db.transaction(write);
  else await write(db);
}

/** Every recorded step of a deletion, oldest first. */
export async function deletionSteps(
  db: Queryable,
  deletionId: number,
): Promise<{ step: string; at: number; detail: string | null }[]> {
  const rows = await db.all<{ step: string; at: DbInt; detail: string | null }>(
    "SELECT step, at, detail FROM deletion_steps WHERE deletion_id = ? ORDER BY id",
    [deletionId],
  );
  return rows.map((r) => ({ step: r.step, at: Number(r.at), detail: r.detail }));
}

/**
 * Files a PENDING deletion of `bucket/key` executing after max(source delay, server
 * minimum). An existing PENDING request for the key is returned unchanged (its delay is
 * never restarted, never shortened).
 */
export async function requestDeletion(
  md: Metadata,
  o: {
    source: Source;
    key: string;
    reason: DeletionReason;
    requestedBy: string;
    now: number;
    minDelayMs: number;
    requestId?: string;
  },
): Promise<{ deletion: Deletion; created: boolean }> {
  const r = await md.deletions.request({
    bucket: o.source.bucket,
    key: o.key,
    reason: o.reason,
    requestedBy: o.requestedBy,
    requestedAt: o.now,
    executeAfter: o.now + deletionDelay(o.source, o.minDelayMs),
    requestId: o.requestId ?? `${o.reason}-${o.now}`,
  });
  if (r.created)
    await recordStep(md.db, r.deletion.id, "requested", o.now, `${o.reason} by ${o.requestedBy}`);
  return r;
}

/** True once the executor started destroying this deletion's object (it can no longer be cancelled). */
export async function executionStarted(db: Queryable, deletionId: number): Promise<boolean> {
  return (
    (await db.get("SELECT 1 AS x FROM deletion_steps WHERE deletion_id = ? AND step = 'start'", [
      deletionId,
    ])) !== undefined
  );
}

/**
 * Cancels a PENDING deletion. Refused (`BAD_INPUT`) when it is not pending or its
 * execution already started.
 */
export async function cancelDeletion(
  md: Metadata,
  id: number,
  by: string,
  now: number,
): Promise<Deletion> {
  return md.db.transaction(async (tx) => {
    const row = await tx.get<{ state: DeletionState }>("SELECT state FROM deletions WHERE id = ?", [
      id,
    ]);
    if (row === undefined) throw new CofferError("NOT_FOUND", `Unknown deletion ${id}`);
    if (row.state !== "PENDING")
      throw new CofferError("BAD_INPUT", `Cannot cancel deletion ${id}: it is ${row.state}`);
    if (await executionStarted(tx, id))
      throw new CofferError("BAD_INPUT", `Cannot cancel deletion ${id}: its execution has started`);
    await tx.run(
      "UPDATE deletions SET state = 'CANCELLED', state_changed_at = ?, state_changed_by = ? WHERE id = ? AND state = 'PENDING'",
      [now, by, id],
    );
    // An operator's cancel is audited under their name; a retention/GC revival as the gateway.
    const actor = by.startsWith("admin:") ? by : "gateway";
    await recordStep(tx, id, "cancelled", now, by, actor);
    // A snapshot kept must keep its manifests too (GC reads only manifests).
    const row2 = await tx.get<{ bucket: string; key: string }>(
      "SELECT bucket, key FROM deletions WHERE id = ?",
      [id],
    );
    if (row2?.key.startsWith("snapshots/") === true) {
      const linked = await tx.all<{ id: number }>(
        `SELECT d.id FROM deletions d JOIN manifests m ON m.bucket = d.bucket AND m.key = d.key
         WHERE d.bucket = ? AND d.state = 'PENDING' AND m.snapshot_id = ?`,
        [row2.bucket, row2.key.slice(10)],
      );
      for (const l of linked) {
        if (await executionStarted(tx, l.id)) continue;
        await tx.run(
          "UPDATE deletions SET state = 'CANCELLED', state_changed_at = ?, state_changed_by = ? WHERE id = ? AND state = 'PENDING'",
          [now, by, l.id],
        );
        await recordStep(tx, l.id, "cancelled", now, `${by} (with ${row2.key})`, actor);
      }
    }
    const d = (await listDeletions(tx, { id }))[0];
    if (d === undefined) throw new CofferError("IO", `Deletion ${id} vanished`);
    return d;
  });
}

/** Cancels every cancellable PENDING deletion of a source; returns those cancelled. */
export async function cancelSourceDeletions(
  md: Metadata,
  source: Source,
  by: string,
  now: number,
): Promise<Deletion[]> {
  return cancelDeletions(
    md,
    (await md.deletions.list({ bucket: source.bucket, state: "PENDING" })).map((d) => d.id),
    by,
    now,
    { skipStarted: true },
  );
}

/**
 * Cancels several deletions in order. Cancelling a snapshot's deletion also cancels its
 * manifest's, so a later id that this same call already cancelled is reported, not refused.
 * With `skipStarted`, deletions whose execution started are skipped instead of refused.
 */
export async function cancelDeletions(
  md: Metadata,
  ids: readonly number[],
  by: string,
  now: number,
  o: { skipStarted?: boolean } = {},
): Promise<Deletion[]> {
  const out: Deletion[] = [];
  const done = new Set<number>();
  for (const id of ids) {
    if (done.has(id)) continue;
    const cur = (await listDeletions(md.db, { id }))[0];
    if (
      cur?.state === "CANCELLED" &&
      cur.stateChangedBy === by &&
      cur.stateChangedAt === now &&
      out.length > 0
    ) {
      out.push(cur); // cancelled along with an earlier one of this call
      done.add(id);
      continue;
    }
    if (o.skipStarted === true && (await executionStarted(md.db, id))) continue;
    out.push(await cancelDeletion(md, id, by, now));
    done.add(id);
  }
  return out;
}

interface ViewRow extends DeletionRow {
  state_changed_at: DbInt | null;
  state_changed_by: string | null;
  request_id: string | null;
  source: string | null;
  legal_hold: number | null;
}

/** Deletions with their source name, optionally for one source and/or state, by id. */
export async function listDeletions(
  db: Queryable,
  f: { source?: Source; state?: DeletionState; id?: number } = {},
): Promise<DeletionView[]> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (f.id !== undefined) {
    where.push("d.id = ?");
    params.push(f.id);
  }
  if (f.source !== undefined) {
    where.push("d.bucket = ?");
    params.push(f.source.bucket);
  }
  if (f.state !== undefined) {
    where.push("d.state = ?");
    params.push(f.state);
  }
  const rows = await db.all<ViewRow>(
    `SELECT d.*, s.name AS source, s.legal_hold AS legal_hold FROM deletions d LEFT JOIN sources s ON s.bucket = d.bucket
     ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY d.id`,
    params,
  );
  return rows.map((r) => ({
    ...deletionFromRow(r),
    source: r.source ?? r.bucket,
    legalHold: (r.legal_hold ?? 0) !== 0,
    stateChangedAt: r.state_changed_at === null ? null : Number(r.state_changed_at),
    stateChangedBy: r.state_changed_by,
  }));
}

/**
 * Turns a source's legal hold on or off (a hold freezes every pending deletion), audited as
 * `source.hold` by `by` in the same transaction.
 */
export async function setLegalHold(
  md: Metadata,
  name: string,
  on: boolean,
  by: string,
  now: number,
): Promise<Source> {
  const s = await md.sources.require(name);
  await md.db.transaction(async (tx) => {
    await tx.run("UPDATE sources SET legal_hold = ? WHERE id = ?", [on ? 1 : 0, s.id]);
    await auditAdminTx(tx, {
      time: now,
      by,
      action: "source.hold",
      source: s.name,
      detail: { legalHold: on },
    });
  });
  return md.sources.require(name);
}

/**
 * Sets a source's deletion delay. Never below the server minimum (`BAD_INPUT`); pending
 * deletions keep the execution date they were given.
 */
export async function setDeletionDelay(
  md: Metadata,
  name: string,
  delayMs: number,
  minDelayMs: number,
  by: string,
  now: number,
): Promise<Source> {
  const s = await md.sources.require(name);
  if (!Number.isSafeInteger(delayMs) || delayMs < minDelayMs) {
    throw new CofferError(
      "BAD_INPUT",
      `Cannot set the deletion delay of ${name} to ${formatDays(delayMs)}: the server minimum is ${formatDays(minDelayMs)}`,
    );
  }
  await md.db.transaction(async (tx) => {
    await tx.run("UPDATE sources SET deletion_delay_ms = ? WHERE id = ?", [delayMs, s.id]);
    await auditAdminTx(tx, {
      time: now,
      by,
      action: "source.delay",
      source: s.name,
      detail: { from: s.deletionDelayMs, to: delayMs },
    });
  });
  return md.sources.require(name);
}

/** `14d`, `1.5d`, or hours for short delays. */
export function formatDays(ms: number): string {
  const d = ms / 86_400_000;
  return Number.isInteger(d)
    ? `${d}d`
    : d >= 1
      ? `${d.toFixed(2)}d`
      : `${(ms / 3_600_000).toFixed(1)}h`;
}
