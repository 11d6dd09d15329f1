import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { CofferError } from "../core/errors.ts";
import type { RestoreTargetOptions, ServerDriver, ToolCommand } from "./driver.ts";
import { runToolOrThrow, type ToolEnv } from "./run-tool.ts";
import type { DbConnection } from "./types.ts";
import type { VersionProbe } from "./version.ts";

/** Schemas that are the server's own, never dumped by `--all-databases`. */
export const MYSQL_SYSTEM_SCHEMAS = new Set([
  "information_schema",
  "performance_schema",
  "sys",
  "mysql",
]);

function onPath(name: string): boolean {
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(delimiter)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

let tools: { client: string; dump: string } | undefined;

/** `mariadb`/`mariadb-dump` when installed, else `mysql`/`mysqldump`. */
export function mysqlTools(): { client: string; dump: string } {
  tools ??= onPath("mariadb-dump")
    ? { client: "mariadb", dump: "mariadb-dump" }
    : { client: "mysql", dump: "mysqldump" };
  return tools;
}

/** Connection arguments shared by the client and the dump tool. */
export function mysqlConnArgs(conn: DbConnection): string[] {
  if (conn.params !== undefined && Object.keys(conn.params).length > 0) {
    throw new CofferError(
      "BAD_INPUT",
      `Unsupported MySQL URI parameter(s): ${Object.keys(conn.params).join(", ")}`,
    );
  }
  const a: string[] = [];
  if (conn.host?.startsWith("/") === true) a.push(`--socket=${conn.host}`);
  else if (conn.host !== undefined) a.push(`--host=${conn.host}`);
  if (conn.port !== undefined) a.push(`--port=${String(conn.port)}`);
  if (conn.host !== undefined && !conn.host.startsWith("/") && conn.port !== undefined)
    a.push("--protocol=TCP");
  if (conn.user !== undefined) a.push(`--user=${conn.user}`);
  return a;
}

/** A SQL string literal for MySQL (backslashes escape by default). */
export function myLiteral(v: string): string {
  return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** A MySQL identifier. */
export function myIdent(v: string): string {
  return `\`${v.replace(/`/g, "``")}\``;
}

function myEnv(conn: DbConnection, base: ToolEnv): ToolEnv {
  const env: Record<string, string | undefined> = { ...base };
  if (conn.password !== undefined) env.MYSQL_PWD = conn.password;
  return env;
}

/**
 * Runs SQL with the mariadb/mysql client in batch mode and returns the rows (tab-separated).
 * @throws ToolError with the client's error line.
 */
export async function mysqlQuery(
  conn: DbConnection,
  env: ToolEnv,
  sql: string,
  database?: string,
  timeoutMs?: number,
): Promise<string[][]> {
  const out = await runToolOrThrow(
    mysqlTools().client,
    [
      ...mysqlConnArgs(conn),
      "--default-character-set=utf8mb4",
      "--connect-timeout=10",
      "--batch",
      "--skip-column-names",
      "-e",
      sql,
      ...(database !== undefined ? [database] : []),
    ],
    { env, ...(timeoutMs !== undefined ? { timeoutMs } : {}) },
    database !== undefined
      ? `Cannot query MySQL database "${database}"`
      : "Cannot query the MySQL server",
  );
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
}

/** MySQL and MariaDB through mariadb-dump/mysqldump (plain SQL) and the mariadb/mysql client. */
export const mysqlDriver: ServerDriver = {
  type: "mysql",
  get dumpTool() {
    return mysqlTools().dump;
  },
  format:
    "plain SQL (--single-transaction --routines --events --triggers --hex-blob --skip-dump-date)",
  extension: "sql",
  completionMarker: "-- Dump completed",
  env: myEnv,
  probe(conn, env): VersionProbe {
    return {
      client: () =>
        runToolOrThrow(
          mysqlTools().dump,
          ["--version"],
          { env },
          `Cannot run ${mysqlTools().dump}`,
        ),
      server: async () => (await mysqlQuery(conn, env, "SELECT VERSION()"))[0]?.[0] ?? "",
    };
  },
  async listDatabases(conn, env) {
    const rows = await mysqlQuery(conn, env, "SHOW DATABASES");
    return rows.map((r) => r[0] ?? "").filter((d) => d !== "" && !MYSQL_SYSTEM_SCHEMAS.has(d));
  },
  dumpCommand(conn, database): ToolCommand {
    return {
      command: mysqlTools().dump,
      args: [
        ...mysqlConnArgs(conn),
        "--single-transaction",
        "--routines",
        "--events",
        "--triggers",
        "--hex-blob",
        "--skip-dump-date",
        "--default-character-set=utf8mb4",
        database,
      ],
    };
  },
  async prepareTarget(conn, env, database, o: RestoreTargetOptions) {
    const lit = myLiteral(database);
    const exists = await mysqlQuery(
      conn,
      env,
      `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${lit}`,
    );
    if (exists[0]?.[0] !== "0") {
      const count = await mysqlQuery(
        conn,
        env,
        `SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${lit}) +
                (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${lit}) +
                (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${lit})`,
      );
      const n = Number(count[0]?.[0] ?? "0");
      if (n === 0) return `restoring into the existing empty database "${database}"`;
      if (!o.dropExisting) {
        throw new CofferError(
          "CONFLICT",
          `Refusing to restore into MySQL database "${database}": it is not empty (${String(n)} object${n === 1 ? "" : "s"}); use --drop-existing to replace it`,
        );
      }
      await mysqlQuery(
        conn,
        env,
        `DROP DATABASE ${myIdent(database)}; CREATE DATABASE ${myIdent(database)}`,
      );
      return `dropped and re-created database "${database}"`;
    }
    if (!o.create && !o.dropExisting) {
      throw new CofferError(
        "NOT_FOUND",
        `MySQL database "${database}" does not exist: add --create to create it`,
      );
    }
    await mysqlQuery(conn, env, `CREATE DATABASE ${myIdent(database)}`);
    return `created database "${database}"`;
  },
  restoreCommand(conn, database): ToolCommand {
    return {
      command: mysqlTools().client,
      args: [
        ...mysqlConnArgs(conn),
        "--default-character-set=utf8mb4",
        "--batch",
        `--database=${database}`,
      ],
    };
  },
};
