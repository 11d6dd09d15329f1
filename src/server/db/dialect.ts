/** An integer column as drivers return it (SQLite: number; PostgreSQL BIGINT: string). */
export type DbInt = number | bigint | string;

/** Number of code points in `s` (SQL `length`/`substr` count characters, not UTF-16 units). */
export function sqlLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

/** A bound SQL parameter. */
export type SqlValue = string | number | bigint | null | Uint8Array;

/** The outcome of a write statement. */
export interface RunResult {
  changes: number;
  /** Row ID of an INSERT into a table with an integer key (SQLite `lastInsertRowid`). */
  lastId: number;
}

/**
 * The small query surface the gateway's stores use, so that PostgreSQL can be added beside
 * SQLite (Kysely-dialect spirit). SQL text uses `?` placeholders and portable types
 * (INTEGER, TEXT, BIGINT timestamps in ms); a PostgreSQL dialect rewrites `?` to `$n`.
 * Methods are async so a networked database fits behind the same interface.
 */
export interface Queryable {
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
}

/** A database connection with transactions and migrations. */
export interface Dialect extends Queryable {
  readonly name: "sqlite" | "postgres";
  /** Runs `fn` in one serialisable transaction; it commits when `fn` resolves, else rolls back. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Executes a multi-statement script (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}
