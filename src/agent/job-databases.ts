import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { CofferError, fromSystemError } from "../core/errors.ts";
import { backupDatabases, type DbBackupOutcome } from "../dumps/backup-db.ts";
import { discoverDatabases } from "../dumps/discover.ts";
import type { DbConnection, DbType } from "../dumps/types.ts";
import type { DatabasesSpec } from "./config.ts";
import type { WorkContext, WorkResult } from "./work.ts";

/**
 * Dumps a `databases` job's databases, one snapshot each: those `discover` finds, the
 * explicit servers', and the SQLite files. A database that fails commits nothing and fails
 * the job (after the others ran); an abort kills the dump tools.
 */
export async function dumpDatabases(spec: DatabasesSpec, c: WorkContext): Promise<WorkResult> {
  const children = new Set<ChildProcess>();
  const stop = (): void => {
    for (const ch of children) if (ch.exitCode === null) ch.kill("SIGTERM");
  };
  c.signal.addEventListener("abort", stop, { once: true });
  const failures: string[] = [];
  const result: WorkResult = { snapshots: [], bytesRead: 0, bytesAdded: 0 };
  const run = async (
    type: DbType,
    connection: DbConnection,
    databases: string[],
    all: boolean,
  ): Promise<void> => {
    if (c.signal.aborted) return;
    let outcomes: DbBackupOutcome[];
    try {
      outcomes = await backupDatabases(c.repo, {
        type,
        connection,
        databases,
        allDatabases: all,
        tags: c.tags,
        host: c.host,
        env: c.env,
        onSpawn: (ch) => {
          children.add(ch);
          ch.on("close", () => children.delete(ch));
        },
      });
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
      c.log(`error: ${type}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    for (const o of outcomes) {
      if (o.error !== undefined) {
        failures.push(o.error.message);
        c.log(`error: ${o.error.message}`, { database: o.database, type: o.type });
        continue;
      }
      result.snapshots.push(o.snapshotId ?? "");
      result.bytesRead += o.bytes ?? 0;
      result.bytesAdded += o.storedBytes ?? 0;
      c.log(
        `snapshot ${(o.snapshotId ?? "").slice(0, 8)} saved: ${o.type} database ${o.database}`,
        {
          snapshot: o.snapshotId,
          database: o.database,
          type: o.type,
        },
      );
    }
  };
  try {
    if (spec.discover) {
      const found = await discoverDatabases({ env: c.env });
      if (found.length === 0) c.log("discover: no PostgreSQL or MySQL/MariaDB server found");
      for (const inst of found) {
        if (!inst.reachable || inst.databases === undefined) {
          failures.push(
            `${inst.type} at ${inst.endpoint}: ${inst.error ?? "cannot list databases"}`,
          );
          c.log(
            `error: ${inst.type} at ${inst.endpoint}: ${inst.error ?? "cannot list databases"}`,
          );
          continue;
        }
        if (inst.databases.length > 0) await run(inst.type, inst.connection, inst.databases, false);
      }
    }
    for (const s of spec.servers) {
      const connection = { ...s.connection };
      if (s.passwordFile !== undefined) connection.password = await readSecret(s.passwordFile);
      else if (c.env.COFFER_DB_PASSWORD !== undefined)
        connection.password = c.env.COFFER_DB_PASSWORD;
      await run(s.type, connection, s.databases, s.all);
    }
    if (spec.sqlite.length > 0) await run("sqlite", {}, spec.sqlite, false);
  } finally {
    c.signal.removeEventListener("abort", stop);
  }
  if (c.signal.aborted)
    throw new CofferError("INTERRUPTED", "Interrupted: nothing more was committed");
  if (failures.length > 0) {
    const first = failures[0] ?? "";
    throw new CofferError(
      "COMMAND_FAILED",
      failures.length === 1
        ? first
        : `${String(failures.length)} database dumps failed (first: ${first}); ${String(result.snapshots.length)} succeeded`,
    );
  }
  return result;
}

async function readSecret(file: string): Promise<string> {
  try {
    return (await readFile(file, "utf8")).replace(/\r?\n$/, "");
  } catch (err) {
    throw fromSystemError(err, `Cannot read database password_file ${file}`);
  }
}
