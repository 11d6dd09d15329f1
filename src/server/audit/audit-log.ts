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
    Number(r.seq),
    Number(r.time),
    r.request_id,
    r.source,
    r.credential,
    r.client_ip,
    r.action,
    r.object_key,
    r.bytes === null ? null : Number(r.bytes),
    r.result,
    r.error_code,
    r.detail,
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

/** An append waiting for the next group commit. */
interface Waiter {
  rows: PendingRow[];
  resolve(entries: AuditEntry[]): void;
  reject(err: unknown): void;
}

/** An entry encoded (detail serialised) before it reaches the transaction; seq/hashes come later. */
type PendingRow = Omit<AuditRow, "seq" | "prev_hash" | "hash">;

function encode(e: AuditInput): PendingRow {
  return {
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
  };
}

/**
 * The tamper-evident audit log (hash chain in `audit_log`). Appends run in one transaction
 * that reads the head and inserts, so concurrent writers (server and CLI processes) keep one
 * chain. Any process can construct one over the metadata database.
 *
 * **Group commit.** Concurrent {@link append} calls share transactions: an append waits for
 * the end of the current event-loop turn (`setImmediate`), at most one append transaction of
 * this log is queued or running at a time, and every append that arrives meanwhile waits for
 * the next one, which takes all of them (in arrival order) when it starts. Each caller's promise settles only once the transaction holding its entries has
 * committed, so "the entry is written before the request proceeds" still holds. If a batch
 * rolls back, each of its callers is retried in a transaction of its own, so a failure is
 * reported exactly to the callers whose entries could not be written.
 */
export class AuditLog {
  #waiting: Waiter[] = [];
  #busy = false;
  #scheduled = false;
  /** Transactions committed and entries they carried (for benchmarks and tests). */
  readonly stats = { transactions: 0, entries: 0 };
  /** Called after each group commit of {@link append} with the newest committed seq. */
  onCommitted: ((headSeq: number) => void) | undefined;

  constructor(
    private readonly db: {
      transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
    } & Queryable,
  ) {}

  /**
   * Appends entries in order (as one contiguous run of the chain); resolves once they are
   * committed, throws (and writes nothing of this call) when the database refuses.
   */
  append(...inputs: AuditInput[]): Promise<AuditEntry[]> {
    let rows: PendingRow[];
    try {
      rows = inputs.map(encode); // a bad input fails its own caller only, never the batch
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return new Promise<AuditEntry[]>((resolve, reject) => {
      this.#waiting.push({ rows, resolve, reject });
      if (!this.#busy && !this.#scheduled) {
        // Commit at the end of this event-loop turn, so the appends of every request whose
        // I/O completed in this turn share one transaction (SQLite's own transactions finish
        // within microtasks, so without this window there would be nothing to group).
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          if (!this.#busy) this.#flush();
        });
      }
    });
  }

  #flush(): void {
    this.#busy = true;
    let batch: Waiter[] = [];
    this.db
      .transaction(async (tx) => {
        batch = this.#waiting;
        this.#waiting = [];
        return writeRows(
          tx,
          batch.flatMap((w) => w.rows),
        );
      })
      .then(
        (entries) => {
          this.#committed(entries);
          let i = 0;
          for (const w of batch) {
            w.resolve(entries.slice(i, i + w.rows.length));
            i += w.rows.length;
          }
        },
        async (err: unknown) => {
          if (batch.length === 0) {
            // The transaction could not even start: fail whoever was waiting for it.
            batch = this.#waiting;
            this.#waiting = [];
            for (const w of batch) w.reject(err);
          } else if (batch.length === 1) {
            batch[0]?.reject(err);
          } else {
            // Rolled back as a whole: retry each caller alone, so one caller's refusal (a
            // constraint, a trigger) is not another's. A database that is down fails them all.
            for (const w of batch) {
              try {
                const entries = await this.db.transaction((tx) => writeRows(tx, w.rows));
                this.#committed(entries);
                w.resolve(entries);
              } catch (e) {
                w.reject(e);
              }
            }
          }
        },
      )
      .finally(() => {
        this.#busy = false;
        if (this.#waiting.length > 0) this.#flush();
      });
  }

  #committed(entries: AuditEntry[]): void {
    this.stats.transactions++;
    this.stats.entries += entries.length;
    const last = entries[entries.length - 1];
    if (last !== undefined) this.onCommitted?.(last.seq);
  }

  /** The newest entry's seq and hash (seq 0 and the genesis hash when empty). */
  async head(): Promise<{ seq: number; hash: string }> {
    const r = await this.db.get<{ seq: DbInt; hash: string }>(
      "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
    );
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
    const rows = await this.db.all<AuditRow>(
      `SELECT * FROM audit_log WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`,
      params,
    );
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
      const r = await tx.get<{ seq: DbInt | null }>(
        "SELECT MAX(seq) AS seq FROM audit_log WHERE time < ?",
        [cutoff],
      );
      if (r?.seq === null || r?.seq === undefined) return 0;
      const head = await tx.get<{ seq: DbInt }>(
        "SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1",
      );
      const lastOld = Math.min(Number(r.seq), Number(head?.seq ?? 0) - 1);
      if (lastOld < 1) return 0;
      const boundary = await tx.get<{ hash: string }>("SELECT hash FROM audit_log WHERE seq = ?", [
        lastOld,
      ]);
      if (boundary === undefined) return 0;
      await appendTx(tx, [
        {
          time: now,
          credential: "gateway",
          action: "audit.prune",
          result: "ok",
          detail: { firstKept: lastOld + 1, prevHash: boundary.hash, cutoff },
        },
      ]);
      const del = await tx.run("DELETE FROM audit_log WHERE seq <= ?", [lastOld]);
      return del.changes;
    });
  }
}

/** Appends inside an open transaction (for callers that already hold one). */
export async function appendTx(
  tx: Queryable,
  inputs: readonly AuditInput[],
): Promise<AuditEntry[]> {
  return writeRows(tx, inputs.map(encode));
}

/** Reads the head inside `tx`, chains `rows` onto it and inserts them. */
async function writeRows(tx: Queryable, rows: readonly PendingRow[]): Promise<AuditEntry[]> {
  if (rows.length === 0) return [];
  const h = await tx.get<{ seq: DbInt; hash: string }>(
    "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
  );
  let seq = h === undefined ? 0 : Number(h.seq);
  let prev = h?.hash ?? GENESIS_HASH;
  const out: AuditEntry[] = [];
  for (const p of rows) {
    seq++;
    const row: AuditRow = { seq, ...p, prev_hash: prev, hash: "" };
    row.hash = chainHash(prev, row);
    await tx.run(INSERT, [
      row.seq,
      row.time,
      row.request_id,
      row.source,
      row.credential,
      row.client_ip,
      row.action,
      row.object_key,
      row.bytes,
      row.result,
      row.error_code,
      row.detail,
      row.prev_hash,
      row.hash,
    ] as SqlValue[]);
    prev = row.hash;
    out.push(fromAuditRow(row));
  }
  return out;
}
