import { createHmac } from "node:crypto";
import { CofferError } from "../core/errors.ts";
import type { RestoreTargetOptions, ServerDriver, ToolCommand } from "./driver.ts";
import { runToolOrThrow, type ToolEnv } from "./run-tool.ts";
import type { DbConnection } from "./types.ts";
import type { VersionProbe } from "./version.ts";

/** The database libpq-based tools connect to for server-wide questions. */
export const PG_MAINTENANCE_DB = "postgres";

/** A libpq conninfo value in single quotes. */
function quoteConninfo(v: string): string {
  return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** `dbname='shop' sslmode='require'`: the database plus the URI's extra parameters. */
export function pgConninfo(conn: DbConnection, database: string): string {
  const parts = [`dbname=${quoteConninfo(database)}`];
  for (const [k, v] of Object.entries(conn.params ?? {})) {
    if (!/^[a-z_]+$/.test(k))
      throw new CofferError(
        "BAD_INPUT",
        `Bad PostgreSQL connection parameter ${JSON.stringify(k)}`,
      );
    parts.push(`${k}=${quoteConninfo(v)}`);
  }
  return parts.join(" ");
}

/** A SQL string literal (standard_conforming_strings is on since 9.1). */
export function pgLiteral(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

/** A SQL identifier. */
export function pgIdent(v: string): string {
  return `"${v.replace(/"/g, '""')}"`;
}

function pgEnv(conn: DbConnection, base: ToolEnv): ToolEnv {
  const env: Record<string, string | undefined> = { ...base };
  if (conn.host !== undefined) env.PGHOST = conn.host;
  if (conn.port !== undefined) env.PGPORT = String(conn.port);
  if (conn.user !== undefined) env.PGUSER = conn.user;
  if (conn.password !== undefined) env.PGPASSWORD = conn.password;
  env.PGCONNECT_TIMEOUT ??= "10";
  env.PGAPPNAME ??= "coffer";
  // A table larger than shared_buffers/4 is scanned from wherever a recent scan left off
  // (synchronized seqscans), which rotates COPY's row order and defeats dedup between dumps.
  env.PGOPTIONS = `${env.PGOPTIONS ?? ""} -c synchronize_seqscans=off`.trim();
  return env;
}

/**
 * Runs one SQL statement with psql and returns the rows (fields split on U+001F).
 * @throws ToolError with psql's error line.
 */
export async function psqlQuery(
  conn: DbConnection,
  env: ToolEnv,
  database: string,
  sql: string,
  timeoutMs?: number,
): Promise<string[][]> {
  const out = await runToolOrThrow(
    "psql",
    [
      "-X",
      "-A",
      "-t",
      "-q",
      "-w",
      "-v",
      "ON_ERROR_STOP=1",
      "-F",
      "\x1f",
      "-d",
      pgConninfo(conn, database),
      "-c",
      sql,
    ],
    { env, ...(timeoutMs !== undefined ? { timeoutMs } : {}) },
    `Cannot query PostgreSQL database "${database}"`,
  );
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\x1f"));
}

const USER_OBJECTS = `select (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
      and n.nspname not like 'pg_temp%') +
  (select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname not in ('pg_catalog', 'information_schema'))`;

/** PostgreSQL through pg_dump (plain SQL) and psql. */
export const postgresDriver: ServerDriver = {
  type: "postgres",
  dumpTool: "pg_dump",
  format: "pg_dump plain SQL (-Fp)",
  extension: "sql",
  completionMarker: "-- PostgreSQL database dump complete",
  env: pgEnv,
  probe(conn, env, database): VersionProbe {
    return {
      client: () => runToolOrThrow("pg_dump", ["--version"], { env }, "Cannot run pg_dump"),
      server: async () => {
        const rows = await psqlQuery(
          conn,
          env,
          database ?? PG_MAINTENANCE_DB,
          "show server_version",
        );
        return rows[0]?.[0] ?? "";
      },
    };
  },
  async listDatabases(conn, env) {
    const rows = await psqlQuery(
      conn,
      env,
      PG_MAINTENANCE_DB,
      "select datname from pg_database where datallowconn and not datistemplate order by datname",
    );
    return rows.map((r) => r[0] ?? "").filter((d) => d !== "");
  },
  dumpCommand(conn, database, o = {}): ToolCommand {
    return {
      command: "pg_dump",
      args: [
        "-Fp",
        "-w",
        ...(o.restrictKey !== undefined ? [`--restrict-key=${o.restrictKey}`] : []),
        "-d",
        pgConninfo(conn, database),
      ],
    };
  },
  async prepareTarget(conn, env, database, o: RestoreTargetOptions) {
    const exists = await psqlQuery(
      conn,
      env,
      PG_MAINTENANCE_DB,
      `select 1 from pg_database where datname = ${pgLiteral(database)}`,
    );
    if (exists.length > 0) {
      const n = Number((await psqlQuery(conn, env, database, USER_OBJECTS))[0]?.[0] ?? "0");
      if (n === 0) return `restoring into the existing empty database "${database}"`;
      if (!o.dropExisting) {
        throw new CofferError(
          "CONFLICT",
          `Refusing to restore into PostgreSQL database "${database}": it is not empty (${String(n)} object${n === 1 ? "" : "s"}); use --drop-existing to replace it`,
        );
      }
      await psqlQuery(
        conn,
        env,
        PG_MAINTENANCE_DB,
        `drop database ${pgIdent(database)} with (force)`,
      );
      await psqlQuery(conn, env, PG_MAINTENANCE_DB, `create database ${pgIdent(database)}`);
      return `dropped and re-created database "${database}"`;
    }
    if (!o.create && !o.dropExisting) {
      throw new CofferError(
        "NOT_FOUND",
        `PostgreSQL database "${database}" does not exist: add --create to create it`,
      );
    }
    await psqlQuery(conn, env, PG_MAINTENANCE_DB, `create database ${pgIdent(database)}`);
    return `created database "${database}"`;
  },
  restoreCommand(conn, database): ToolCommand {
    // One transaction: a failing statement leaves the target as it was.
    return {
      command: "psql",
      args: [
        "-X",
        "-q",
        "-w",
        "-v",
        "ON_ERROR_STOP=1",
        "--single-transaction",
        "-o",
        "/dev/null",
        "-d",
        pgConninfo(conn, database),
      ],
    };
  },
};

/**
 * The `\\restrict` key for dumps of `database` (pg_dump 13.22/14.19/15.14/16.10/17.6 and later
 * write `\\restrict KEY` … `\\unrestrict KEY` around a plain dump, with a random KEY by
 * default, so consecutive identical dumps differed in their first and last chunks: about 3.9 MB
 * of a 42.6 MB dump re-stored per run). Derived from the repository's MAC key, it is stable
 * for a database (identical dumps deduplicate fully) and unknown to the database server,
 * which is what the key protects against (CVE-2025-8714). 32 hex characters.
 */
export function restrictKey(macKey: Uint8Array, database: string): string {
  return createHmac("sha256", macKey)
    .update(`coffer pg_dump restrict-key v1\0${database}`)
    .digest("hex")
    .slice(0, 32);
}

/** Whether this pg_dump takes `--restrict-key` (it writes `\\restrict` lines). */
export async function pgDumpHasRestrictKey(env: ToolEnv): Promise<boolean> {
  const help = await runToolOrThrow("pg_dump", ["--help"], { env }, "Cannot run pg_dump");
  return help.includes("--restrict-key");
}
