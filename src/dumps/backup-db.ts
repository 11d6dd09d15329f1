import type { ChildProcess } from "node:child_process";
import { basename, resolve } from "node:path";
import { CofferError, isCofferError } from "../core/errors.ts";
import { backupStream } from "../engine/backup/index.ts";
import type { Repository } from "../engine/repository/index.ts";
import type { ServerDriver } from "./driver.ts";
import { mysqlDriver } from "./mysql.ts";
import { pgDumpHasRestrictKey, postgresDriver, restrictKey } from "./postgres.ts";
import type { ToolEnv } from "./run-tool.ts";
import { readFilePieces, sqliteConsistentCopy, sqliteLibraryVersion } from "./sqlite.ts";
import { streamToolIntoRepository } from "./stream-dump.ts";
import { dbTag, describeConnection, type DbConnection, type DbType } from "./types.ts";
import { checkToolVersion, type VersionProbe } from "./version.ts";

/** The driver for a server engine. */
export function serverDriver(type: "postgres" | "mysql"): ServerDriver {
  return type === "postgres" ? postgresDriver : mysqlDriver;
}

/** Options for {@link backupDatabases}. */
export interface DbBackupOptions {
  type: DbType;
  connection: DbConnection;
  /** Databases to dump (SQLite: file paths). */
  databases: string[];
  /** Dump every user database of the server (PostgreSQL, MySQL). */
  allDatabases?: boolean;
  /** Extra tags; `db:TYPE:NAME` is always added. */
  tags?: string[];
  host?: string;
  time?: Date | number | string;
  /** Environment for the tools (default: process.env). */
  env?: ToolEnv;
  /** Replaces the real version probe (tests). */
  probe?: VersionProbe;
  onSpawn?: (child: ChildProcess) => void;
  /** Called as each database finishes. */
  onResult?: (r: DbBackupOutcome) => void;
}

/** What happened to one database. */
export interface DbBackupOutcome {
  type: DbType;
  database: string;
  snapshotId?: string;
  bytes?: number;
  addedBytes?: number;
  /** Bytes this dump added to the repository's packs (after dedup and compression). */
  storedBytes?: number;
  error?: CofferError;
}

const ENGINE_NAME: Record<DbType, string> = {
  postgres: "PostgreSQL",
  mysql: "MySQL",
  sqlite: "SQLite",
};

/**
 * Dumps each database into its own snapshot tagged `db:TYPE:NAME`, with the dump tool and
 * server versions in `meta`. For servers, the tool's version is checked against the
 * server's before anything is dumped (DB_VERSION). A dump that fails commits nothing; the
 * other databases still run and the failure is reported in its outcome.
 */
export async function backupDatabases(
  repo: Repository,
  o: DbBackupOptions,
): Promise<DbBackupOutcome[]> {
  const env = o.env ?? process.env;
  const outcomes: DbBackupOutcome[] = [];
  const report = (r: DbBackupOutcome): void => {
    outcomes.push(r);
    o.onResult?.(r);
  };
  if (o.type === "sqlite") {
    if (o.allDatabases === true)
      throw new CofferError(
        "BAD_INPUT",
        "--all-databases does not apply to SQLite: give each file with --db",
      );
    if (o.databases.length === 0)
      throw new CofferError("BAD_INPUT", "Give the SQLite database file with --db FILE");
    for (const file of o.databases) {
      try {
        report(await backupSqlite(repo, resolve(file), o));
      } catch (err) {
        report({ type: "sqlite", database: file, error: asCofferError(err) });
      }
    }
    return outcomes;
  }
  const driver = serverDriver(o.type);
  const toolEnv = driver.env(o.connection, env);
  const first = o.databases[0];
  // Before any dump: is the tool recent enough for this server? (Also proves we can connect.)
  const versions = await checkToolVersion(
    o.type,
    driver.dumpTool,
    o.probe ?? driver.probe(o.connection, toolEnv, first),
  );
  let databases = [...o.databases];
  if (o.allDatabases === true) {
    for (const d of await driver.listDatabases(o.connection, toolEnv))
      if (!databases.includes(d)) databases.push(d);
  }
  if (databases.length === 0)
    throw new CofferError("BAD_INPUT", "Give a database with --db NAME, or --all-databases");
  databases = [...new Set(databases)];
  // A stable \restrict key, so that identical PostgreSQL dumps deduplicate (postgres.ts).
  const stableKey = o.type === "postgres" && (await pgDumpHasRestrictKey(toolEnv));
  for (const database of databases) {
    try {
      const tag = dbTag(o.type, database);
      const r = await streamToolIntoRepository(repo, {
        tool: driver.dumpCommand(
          o.connection,
          database,
          stableKey ? { restrictKey: restrictKey(repo.master.macKey, database) } : {},
        ),
        env: toolEnv,
        what: `Cannot dump ${ENGINE_NAME[o.type]} database "${database}"`,
        completionMarker: driver.completionMarker,
        filename: `${safeName(database)}.${driver.extension}`,
        tags: [tag, ...(o.tags ?? []).filter((t) => t !== tag)],
        meta: {
          "db.type": o.type,
          "db.name": database,
          "db.tool": driver.dumpTool,
          "db.tool_version": versions.client,
          "db.server_version": versions.server,
          "db.format": driver.format,
          "db.instance": describeConnection(o.connection),
        },
        ...(o.host !== undefined ? { host: o.host } : {}),
        ...(o.time !== undefined ? { time: o.time } : {}),
        ...(o.onSpawn !== undefined ? { onSpawn: o.onSpawn } : {}),
      });
      report({
        type: o.type,
        database,
        snapshotId: r.snapshotId,
        bytes: r.stats.bytes,
        addedBytes: r.stats.addedBytes,
        storedBytes: r.stats.storedBytes,
      });
    } catch (err) {
      report({ type: o.type, database, error: asCofferError(err) });
    }
  }
  return outcomes;
}

async function backupSqlite(
  repo: Repository,
  file: string,
  o: DbBackupOptions,
): Promise<DbBackupOutcome> {
  const copy = await sqliteConsistentCopy(file);
  try {
    const name = basename(file);
    const tag = dbTag("sqlite", name);
    const version = await sqliteLibraryVersion();
    const r = await backupStream(repo, {
      source: readFilePieces(copy.path),
      filename: safeName(name),
      tags: [tag, ...(o.tags ?? []).filter((t) => t !== tag)],
      meta: {
        "db.type": "sqlite",
        "db.name": name,
        "db.path": file,
        "db.tool": "sqlite3 .backup",
        "db.tool_version": `SQLite ${version}`,
        "db.server_version": `SQLite ${version}`,
        "db.format": "SQLite database file (online backup API copy, one read transaction)",
      },
      ...(o.host !== undefined ? { host: o.host } : {}),
      ...(o.time !== undefined ? { time: o.time } : {}),
      beforeCommit: (stored) => {
        // A SQLite file is never empty (its header alone is 100 bytes), and the whole copy
        // must be stored.
        if (copy.size === 0 || stored.bytes !== copy.size) {
          throw new CofferError(
            "CORRUPT",
            `Cannot back up SQLite database ${file}: the copy holds ${String(copy.size)} bytes but ${String(stored.bytes)} were stored; nothing was committed`,
          );
        }
      },
    });
    return {
      type: "sqlite",
      database: file,
      snapshotId: r.snapshotId,
      bytes: r.stats.bytes,
      addedBytes: r.stats.addedBytes,
      storedBytes: r.stats.storedBytes,
    };
  } finally {
    await copy.dispose();
  }
}

function safeName(name: string): string {
  const s = name.replace(/[/\0]/g, "_");
  return s === "." || s === ".." || s === "" ? "_" : s;
}

function asCofferError(err: unknown): CofferError {
  if (isCofferError(err)) return err;
  return new CofferError("IO", err instanceof Error ? err.message : String(err), { cause: err });
}
