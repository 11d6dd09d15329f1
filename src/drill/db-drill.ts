import { randomBytes } from "node:crypto";
import { serverDriver } from "../dumps/backup-db.ts";
import { restoreDatabase } from "../dumps/restore-db.ts";
import { runTool, type ToolEnv } from "../dumps/run-tool.ts";
import type { DbConnection } from "../dumps/types.ts";
import { parseDbUri } from "../dumps/uri.ts";
import type { FoundSnapshot } from "../engine/browse/index.ts";
import type { Repository } from "../engine/repository/index.ts";
import type { DrillCheck } from "./drill.ts";

/** Options of {@link drillDatabase}. */
export interface DbDrillOptions {
  /** Scratch server: `postgres://user@host:port` or `mysql://…` (any database name is ignored). */
  uri: string;
  /** SQL probes; each passes when it runs and its first value is not empty, 0, false or NULL. */
  probes: readonly string[];
  env: ToolEnv;
}

function clientArgs(
  type: "postgres" | "mysql",
  c: DbConnection,
  db: string,
  sql: string,
): string[] {
  if (type === "postgres")
    return [
      "-X",
      "-A",
      "-t",
      "-q",
      "-v",
      "ON_ERROR_STOP=1",
      ...(c.host !== undefined ? ["-h", c.host] : []),
      ...(c.port !== undefined ? ["-p", String(c.port)] : []),
      ...(c.user !== undefined ? ["-U", c.user] : []),
      "-d",
      db,
      "-c",
      sql,
    ];
  return [
    "-N",
    "-B",
    ...(c.host !== undefined ? ["-h", c.host] : []),
    ...(c.port !== undefined ? ["-P", String(c.port)] : []),
    ...(c.user !== undefined ? ["-u", c.user] : []),
    ...(db !== "" ? [db] : []),
    "-e",
    sql,
  ];
}

/**
 * The database part of a drill: restores the dump in `snap` into a new scratch database
 * (`coffer_drill_<hex>`) on the `uri` server, runs the probe queries against it, and drops
 * it. Returns one check for the restore and one per probe (never throws for a failure).
 */
export async function drillDatabase(
  repo: Repository,
  snap: FoundSnapshot,
  o: DbDrillOptions,
): Promise<DrillCheck[]> {
  const type = snap.snapshot.meta?.["db.type"];
  if (type !== "postgres" && type !== "mysql")
    return [
      {
        name: "database",
        ok: false,
        detail: `snapshot ${snap.id.slice(0, 8)} is not a PostgreSQL or MySQL dump (--db-target needs one)`,
      },
    ];
  const parsed = parseDbUri(o.uri);
  if (parsed.type !== type)
    return [
      {
        name: "database",
        ok: false,
        detail: `--db-target is a ${parsed.type} server, the snapshot holds a ${type} dump`,
      },
    ];
  const scratch = `coffer_drill_${randomBytes(4).toString("hex")}`;
  const driver = serverDriver(type);
  const env = driver.env(parsed.connection, o.env);
  const client = type === "postgres" ? "psql" : "mysql";
  const sql = async (db: string, q: string) =>
    runTool(client, clientArgs(type, parsed.connection, db, q), { env });
  const checks: DrillCheck[] = [];
  try {
    const r = await restoreDatabase(repo, {
      type,
      snapshot: snap.id,
      database: scratch,
      connection: parsed.connection,
      create: true,
      env: o.env,
    });
    checks.push({
      name: "database restore",
      ok: true,
      detail: `${r.source} restored into scratch database ${scratch} (${String(r.bytes)} bytes)`,
    });
    for (const q of o.probes) {
      const res = await sql(scratch, q);
      const first = res.stdout.split("\n")[0]?.split("\t")[0]?.trim() ?? "";
      const ok = res.code === 0 && !["", "0", "f", "false", "NULL"].includes(first);
      checks.push({
        name: `probe: ${q}`,
        ok,
        detail:
          res.code === 0
            ? `returned ${JSON.stringify(first)}`
            : `failed: ${res.stderr.split("\n")[0] ?? ""}`,
      });
    }
  } catch (err) {
    checks.push({
      name: "database restore",
      ok: false,
      detail: err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err),
    });
  } finally {
    await sql(
      type === "postgres" ? "postgres" : "",
      type === "postgres"
        ? `DROP DATABASE IF EXISTS "${scratch}" WITH (FORCE)`
        : `DROP DATABASE IF EXISTS \`${scratch}\``,
    ).catch(() => undefined);
  }
  return checks;
}
