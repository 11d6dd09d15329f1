import { createHash } from "node:crypto";
import type { DbInt, Queryable, SqlValue } from "../db/dialect.ts";

/** What a caller records; the log adds `seq`, the chain hashes and (by default) nothing else. */
export interface AuditInput {
  /** Milliseconds since the epoch (server clock). */
  time: number;
  requestId?: string | null;
  /** Source name. */
  source?: string | null;
  /** Access key ID, or `admin:<user>` for CLI actions, `gateway` for the server itself. */
  credential?: string | null;
  clientIp?: string | null;
  /** S3 operation (`PutObject`) or admin action (`source.add`, `deletion.cancelled`, ...). */
  action: string;
  key?: string | null;
  bytes?: number | null;
  /** `ok`, `refused` (client error), `failed` (server error) or `started` (write-ahead). */
  result: "ok" | "refused" | "failed" | "started";
  errorCode?: string | null;
  /** Extra facts (JSON), e.g. `{ status: 200 }` or `{ deletionId: 7 }`. */
  detail?: Record<string, unknown> | null;
}

/** A stored, chained entry. */
export interface AuditEntry {
  seq: number;
  time: number;
  requestId: string | null;
  source: string | null;
  credential: string | null;
  clientIp: string | null;
  action: string;
  key: string | null;
  bytes: number | null;
  result: string;
  errorCode: string | null;
  detail: Record<string, unknown> | null;
  prevHash: string;
  hash: string;
}

/** The hash before the first entry. */
export const GENESIS_HASH = "0".repeat(64);

/** Row shape of `audit_log`. */
export interface AuditRow {
  seq: DbInt;
  time: DbInt;
  request_id: string | null;
  source: string | null;
  credential: string | null;
  client_ip: string | null;
  action: string;
  object_key: string | null;
  bytes: DbInt | null;
  result: string;
  error_code: string | null;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

/**
 * The canonical encoding hashed into the chain: a JSON array in a fixed field order, as the
 * row stores it (detail is the stored JSON text, so a re-serialisation cannot differ).
 */
export function canonicalEntry(r: AuditRow): string {
  return JSON.stringify([
    Number(r.seq), Number(r.time), r.request_id, r.source, r.credential, r.client_ip, r.action, r.object_key,
    r.bytes === null ? null : Number(r.bytes), r.result, r.error_code, r.detail,
  ]);
}

/** entry hash = SHA-256(previous hash ‖ "\n" ‖ canonical entry), hex. */
export function chainHash(prevHash: string, r: AuditRow): string {
  return createHash("sha256").update(prevHash).update("\n").update(canonicalEntry(r)).digest("hex");
}

/** Converts a row to an entry. */
export function fromAuditRow(r: AuditRow): AuditEntry {
  return {
    seq: Number(r.seq),
    time: Number(r.time),
    requestId: r.request_id,
    source: r.source,
    credential: r.credential,
    clientIp: r.client_ip,
    action: r.action,
    key: r.object_key,
    bytes: r.bytes === null ? null : Number(r.bytes),
    result: r.result,
    errorCode: r.error_code,
    detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** Filter for reading the log. */
export interface AuditFilter {
  source?: string;
  since?: number;
  until?: number;
  afterSeq?: number;
}

const INSERT = `INSERT INTO audit_log (seq, time, request_id, source, credential, client_ip, action, object_key, bytes,
  result, error_code, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * The tamper-evident audit log (hash chain in `audit_log`). Appends run in one transaction
 * that reads the head and inserts, so concurrent writers (server and CLI processes) keep one
 * chain. Any process can construct one over the metadata database.
 */
export class AuditLog {
  constructor(private readonly db: { transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> } & Queryable) {}

  /** Appends entries in order; throws (and writes nothing) when the database refuses. */
  async append(...inputs: AuditInput[]): Promise<AuditEntry[]> {
    return this.db.transaction((tx) => appendTx(tx, inputs));
  }

  /** The newest entry's seq and hash (seq 0 and the genesis hash when empty). */
  async head(): Promise<{ seq: number; hash: string }> {
    const r = await this.db.get<{ seq: DbInt; hash: string }>("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    return r === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: Number(r.seq), hash: r.hash };
  }

  /** Up to `limit` entries matching `f`, by seq. */
  async page(f: AuditFilter, limit = 1000): Promise<AuditEntry[]> {
    const where: string[] = ["seq > ?"];
    const params: SqlValue[] = [f.afterSeq ?? 0];
    if (f.source !== undefined) {
      where.push("source = ?");
      params.push(f.source);
    }
    if (f.since !== undefined) {
      where.push("time >= ?");
      params.push(f.since);
    }
    if (f.until !== undefined) {
      where.push("time < ?");
      params.push(f.until);
    }
    params.push(limit);
    const rows = await this.db.all<AuditRow>(`SELECT * FROM audit_log WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`, params);
    return rows.map(fromAuditRow);
  }

  /** Every entry matching `f`, paged. */
  async *entries(f: AuditFilter = {}): AsyncIterable<AuditEntry> {
    let after = f.afterSeq ?? 0;
    for (;;) {
      const page = await this.page({ ...f, afterSeq: after }, 2000);
      yield* page;
      const last = page[page.length - 1];
      if (last === undefined || page.length < 2000) return;
      after = last.seq;
    }
  }

  /**
   * Removes entries older than `cutoff`, keeping the newest entry. An `audit.prune` entry
   * recording the first kept seq and the hash before it is appended first, in the same
   * transaction, so `verify` can still check the chain from its new start.
   */
  async prune(cutoff: number, now: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const r = await tx.get<{ seq: DbInt | null }>("SELECT MAX(seq) AS seq FROM audit_log WHERE time < ?", [cutoff]);
      if (r?.seq === null || r?.seq === undefined) return 0;
      const head = await tx.get<{ seq: DbInt }>("SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1");
      const lastOld = Math.min(Number(r.seq), Number(head?.seq ?? 0) - 1);
      if (lastOld < 1) return 0;
      const boundary = await tx.get<{ hash: string }>("SELECT hash FROM audit_log WHERE seq = ?", [lastOld]);
      if (boundary === undefined) return 0;
      await appendTx(tx, [{ time: now, credential: "gateway", action: "audit.prune", result: "ok", detail: { firstKept: lastOld + 1, prevHash: boundary.hash, cutoff } }]);
      const del = await tx.run("DELETE FROM audit_log WHERE seq <= ?", [lastOld]);
      return del.changes;
    });
  }
}

/** Appends inside an open transaction (for callers that already hold one). */
export async function appendTx(tx: Queryable, inputs: readonly AuditInput[]): Promise<AuditEntry[]> {
  const h = await tx.get<{ seq: DbInt; hash: string }>("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
  let seq = h === undefined ? 0 : Number(h.seq);
  let prev = h?.hash ?? GENESIS_HASH;
  const out: AuditEntry[] = [];
  for (const e of inputs) {
    seq++;
    const row: AuditRow = {
      seq,
      time: e.time,
      request_id: e.requestId ?? null,
      source: e.source ?? null,
      credential: e.credential ?? null,
      client_ip: e.clientIp ?? null,
      action: e.action,
      object_key: e.key ?? null,
      bytes: e.bytes ?? null,
      result: e.result,
      error_code: e.errorCode ?? null,
      detail: e.detail === undefined || e.detail === null ? null : JSON.stringify(e.detail),
      prev_hash: prev,
      hash: "",
    };
    row.hash = chainHash(prev, row);
    await tx.run(INSERT, [row.seq, row.time, row.request_id, row.source, row.credential, row.client_ip, row.action, row.object_key,
      row.bytes, row.result, row.error_code, row.detail, row.prev_hash, row.hash] as SqlValue[]);
    prev = row.hash;
    out.push(fromAuditRow(row));
  }
  return out;
}
