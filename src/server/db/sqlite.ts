import Database from "better-sqlite3";
import { CofferError } from "../../core/errors.ts";
import type { Dialect, Queryable, RunResult, SqlValue } from "./dialect.ts";

function wrap(err: unknown, sql: string): CofferError {
  const code = (err as { code?: string }).code ?? "";
  if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
    return new CofferError("ALREADY_EXISTS", `Metadata conflict: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (code === "SQLITE_FULL")
    return new CofferError("NO_SPACE", "Metadata database: disk full", { cause: err });
  return new CofferError(
    "IO",
    `Metadata query failed (${sql.trim().split(/\s+/).slice(0, 3).join(" ")}): ${(err as Error).message}`,
    { cause: err },
  );
}

/**
 * SQLite through better-sqlite3, in WAL mode with a busy timeout so that `coffer-server
 * source add` can write while the server runs. Transactions are `BEGIN IMMEDIATE` and
 * serialised by an in-process queue; plain queries wait while a transaction is open.
 */
export class SqliteDialect implements Dialect {
  readonly name = "sqlite";
  readonly #db: Database.Database;
  #tail: Promise<unknown> = Promise.resolve();
  #inTx = 0;
  /** Prepared statements by SQL text: preparing dominated a small PUT's CPU time. */
  readonly #stmts = new Map<string, Database.Statement>();

  constructor(path: string) {
    try {
      this.#db = new Database(path);
      this.#db.pragma("journal_mode = WAL");
      this.#db.pragma("busy_timeout = 10000");
      // FULL: in WAL mode, NORMAL may lose the last commits on power loss, and the gateway
      // acknowledges a write-once object (ledger row, manifest, deletion) only after its
      // commit; an acknowledged row must survive (issue 11, finding 14).
      this.#db.pragma("synchronous = FULL");
      this.#db.pragma("foreign_keys = ON");
    } catch (err) {
      throw new CofferError(
        "IO",
        `Cannot open metadata database ${path}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  #prepare(sql: string): Database.Statement {
    let st = this.#stmts.get(sql);
    if (st === undefined) {
      st = this.#db.prepare(sql);
      if (this.#stmts.size >= 500) this.#stmts.clear();
      this.#stmts.set(sql, st);
    }
    return st;
  }

  #runSync(sql: string, params: readonly SqlValue[]): RunResult {
    try {
      const r = this.#prepare(sql).run(...params);
      return { changes: r.changes, lastId: Number(r.lastInsertRowid) };
    } catch (err) {
      throw wrap(err, sql);
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the row shape
  #getSync<T>(sql: string, params: readonly SqlValue[]): T | undefined {
    try {
      return this.#prepare(sql).get(...params) as T | undefined;
    } catch (err) {
      throw wrap(err, sql);
    }
  }
  #allSync<T>(sql: string, params: readonly SqlValue[]): T[] {
    try {
      return this.#prepare(sql).all(...params) as T[];
    } catch (err) {
      throw wrap(err, sql);
    }
  }

  async #idle(): Promise<void> {
    while (this.#inTx > 0) await this.#tail.catch(() => undefined);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    await this.#idle();
    return this.#runSync(sql, params);
  }
  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    await this.#idle();
    return this.#getSync<T>(sql, params);
  }
  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    await this.#idle();
    return this.#allSync<T>(sql, params);
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const tx: Queryable = {
      run: (sql, p = []) => Promise.resolve(this.#runSync(sql, p)),
      get: <U>(sql: string, p: readonly SqlValue[] = []) =>
        Promise.resolve(this.#getSync<U>(sql, p)),
      all: <U>(sql: string, p: readonly SqlValue[] = []) =>
        Promise.resolve(this.#allSync<U>(sql, p)),
    };
    const result = this.#tail
      .catch(() => undefined)
      .then(async () => {
        this.#inTx++;
        try {
          this.#db.exec("BEGIN IMMEDIATE");
          try {
            const value = await fn(tx);
            this.#db.exec("COMMIT");
            return value;
          } catch (err) {
            if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
            throw err;
          }
        } finally {
          this.#inTx--;
        }
      });
    this.#tail = result;
    return result;
  }

  exec(sql: string): Promise<void> {
    try {
      this.#db.exec(sql);
    } catch (err) {
      return Promise.reject(wrap(err, sql));
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#db.close();
    return Promise.resolve();
  }
}
