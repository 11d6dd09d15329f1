import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A database name unique to this test run: `coffer_t_<label>_<hex>`. */
export function uniqueName(label: string): string {
  return `coffer_t_${label}_${randomBytes(4).toString("hex")}`;
}

/** Runs SQL as the local superuser over the PostgreSQL socket; returns rows (tab-separated). */
export async function pgAdmin(sql: string, database = "postgres"): Promise<string[][]> {
  const { stdout } = await run(
    "psql",
    ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-F", "\t", "-d", database, "-c", sql],
    {
      maxBuffer: 64 << 20,
    },
  );
  return stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
}

/** Drops a PostgreSQL database if it exists (force-closing its connections). */
export async function pgDrop(name: string): Promise<void> {
  await pgAdmin(`drop database if exists "${name}" with (force)`);
}

/**
 * Per-table checksums of a PostgreSQL database's public tables: `md5` over the md5s of the
 * rows' text, ordered by that text, with the row count.
 */
export async function pgChecksums(database: string): Promise<Record<string, string>> {
  const tables = (
    await pgAdmin(
      "select tablename from pg_tables where schemaname = 'public' order by 1",
      database,
    )
  ).map((r) => r[0] ?? "");
  const out: Record<string, string> = {};
  for (const t of tables) {
    const [row] = await pgAdmin(
      `select count(*), md5(coalesce(string_agg(md5(x::text), '' order by x::text), '')) from "${t}" x`,
      database,
    );
    out[t] = `${row?.[0] ?? ""}:${row?.[1] ?? ""}`;
  }
  return out;
}

/** Runs SQL as root over the MariaDB socket; returns rows (tab-separated). */
export async function myAdmin(sql: string, database?: string): Promise<string[][]> {
  const { stdout } = await run(
    "mariadb",
    [
      "--default-character-set=utf8mb4",
      "--batch",
      "--skip-column-names",
      "-e",
      sql,
      ...(database !== undefined ? [database] : []),
    ],
    {
      maxBuffer: 64 << 20,
    },
  );
  return stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
}

/** Drops a MariaDB database if it exists. */
export async function myDrop(name: string): Promise<void> {
  await myAdmin(`DROP DATABASE IF EXISTS \`${name}\``);
}

/** Per-table checksums of a MariaDB database: ordered md5 of every row's md5, plus the count. */
export async function myChecksums(database: string): Promise<Record<string, string>> {
  const tables = (
    await myAdmin(
      `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${database}' AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1`,
    )
  ).map((r) => r[0] ?? "");
  const out: Record<string, string> = {};
  for (const t of tables) {
    const cols = (
      await myAdmin(
        `SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '${database}' AND TABLE_NAME = '${t}' ORDER BY ORDINAL_POSITION`,
      )
    ).map((r) => `COALESCE(HEX(\`${r[0] ?? ""}\`), 'NULL')`);
    const row = `MD5(CONCAT_WS('|', ${cols.join(", ")}))`;
    const [r] = await myAdmin(
      `SET SESSION group_concat_max_len = 1073741824; SELECT COUNT(*), MD5(COALESCE(GROUP_CONCAT(${row} ORDER BY ${row} SEPARATOR ''), '')) FROM \`${t}\``,
      database,
    );
    out[t] = `${r?.[0] ?? ""}:${r?.[1] ?? ""}`;
  }
  return out;
}
