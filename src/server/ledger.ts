import { type DbInt, sqlLength, type Queryable } from "./db/dialect.ts";

/** One stored object as the gateway recorded it (write-once). */
export interface ObjectRecord {
  bucket: string;
  key: string;
  size: number;
  sha256: string;
  etag: string;
  createdAt: number;
  createdBy: string;
}

interface Row {
  bucket: string;
  key: string;
  size: DbInt;
  sha256: string;
  etag: string;
  created_at: DbInt;
  created_by: string;
}

const fromRow = (r: Row): ObjectRecord => ({
  bucket: r.bucket,
  key: r.key,
  size: Number(r.size),
  sha256: r.sha256,
  etag: r.etag,
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
});

/**
 * The object ledger: one row per stored object, written once (keys under a scratch prefix
 * are the only rows ever removed by a client). Listing reads it in UTF-8 byte order, as S3.
 */
export class ObjectLedger {
  constructor(private readonly db: Queryable) {}

  async get(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    const r = await this.db.get<Row>("SELECT * FROM objects WHERE bucket = ? AND key = ?", [
      bucket,
      key,
    ]);
    return r === undefined ? undefined : fromRow(r);
  }

  /** Inserts unless present; returns the row now stored (ours or the earlier one). */
  async insert(rec: ObjectRecord): Promise<{ inserted: boolean; record: ObjectRecord }> {
    const r = await this.db.run(
      `INSERT INTO objects (bucket, key, size, sha256, etag, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (bucket, key) DO NOTHING`,
      [rec.bucket, rec.key, rec.size, rec.sha256, rec.etag, rec.createdAt, rec.createdBy],
    );
    if (r.changes === 1) return { inserted: true, record: rec };
    const existing = await this.get(rec.bucket, rec.key);
    return { inserted: false, record: existing ?? rec };
  }

  /** Removes a row (scratch-prefix deletes and, later, executed deletions only). */
  async remove(bucket: string, key: string): Promise<void> {
    await this.db.run("DELETE FROM objects WHERE bucket = ? AND key = ?", [bucket, key]);
  }

  /**
   * Up to `limit` objects whose key starts with `prefix` and sorts after `after`, in key
   * order (SQLite's BINARY collation = UTF-8 byte order).
   */
  async page(
    bucket: string,
    prefix: string,
    after: string,
    limit: number,
  ): Promise<ObjectRecord[]> {
    const rows = await this.db.all<Row>(
      `SELECT * FROM objects WHERE bucket = ? AND key > ? AND substr(key, 1, ?) = ? ORDER BY key LIMIT ?`,
      [bucket, after, sqlLength(prefix), prefix, limit],
    );
    return rows.map(fromRow);
  }

  async count(bucket: string): Promise<{ objects: number; bytes: number }> {
    const r = await this.db.get<{ n: number; b: DbInt | null }>(
      "SELECT COUNT(*) AS n, SUM(size) AS b FROM objects WHERE bucket = ?",
      [bucket],
    );
    return { objects: r?.n ?? 0, bytes: Number(r?.b ?? 0) };
  }
}
