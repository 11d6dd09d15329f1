import { CofferError } from "../../core/errors.ts";
import { backupDatabases, type DbBackupOutcome } from "../../dumps/backup-db.ts";
import { discoverDatabases } from "../../dumps/discover.ts";
import { listDbSnapshots } from "../../dumps/list.ts";
import { restoreDatabase } from "../../dumps/restore-db.ts";
import { ToolError } from "../../dumps/run-tool.ts";
import { DB_TYPES, dbTag, type DbConnection, type DbType } from "../../dumps/types.ts";
import { parseDbUri } from "../../dumps/uri.ts";
import { flag, str, strs, type Command, type ParsedArgs } from "../command.ts";
import type { CliContext } from "../context.ts";
import { ExitCode } from "../exit-codes.ts";
import { formatBytes } from "../output.ts";
import { reportFailure, writeRunStatus } from "../report-status.ts";
import { parseTime } from "./parse-time.ts";
import { removeStaleTemp } from "../stale-temp.ts";

const SUBCOMMANDS = ["backup", "restore", "list", "discover"];

/** The engine, connection and database names from `--type/--uri/--host/--port/--user/--db`. */
export function readConnection(
  args: ParsedArgs,
  env: Readonly<Record<string, string | undefined>>,
): {
  type: DbType;
  connection: DbConnection;
  databases: string[];
} {
  const uri = str(args, "uri");
  const parsed = uri !== undefined ? parseDbUri(uri) : undefined;
  const typeArg = str(args, "type");
  if (typeArg !== undefined && !DB_TYPES.includes(typeArg as DbType)) {
    throw new CofferError(
      "BAD_INPUT",
      `Unknown --type "${typeArg}": use postgres, mysql or sqlite (other engines: coffer backup --stdin-from-command)`,
    );
  }
  const type = (typeArg as DbType | undefined) ?? parsed?.type;
  if (type === undefined)
    throw new CofferError(
      "BAD_INPUT",
      "Give the database engine with --type postgres|mysql|sqlite (or a --uri)",
    );
  if (parsed !== undefined && parsed.type !== type)
    throw new CofferError("BAD_INPUT", `--uri is a ${parsed.type} URI but --type is ${type}`);
  const connection: DbConnection = { ...(parsed?.connection ?? {}) };
  const host = str(args, "host");
  const port = str(args, "port");
  const user = str(args, "user");
  if (host !== undefined) connection.host = host;
  if (port !== undefined) {
    const n = Number(port);
    if (!Number.isInteger(n) || n <= 0 || n >= 65536)
      throw new CofferError("BAD_INPUT", `Bad --port "${port}"`);
    connection.port = n;
  }
  if (user !== undefined) connection.user = user;
  const pw = env.COFFER_DB_PASSWORD;
  if (pw !== undefined && connection.password === undefined) connection.password = pw;
  const databases = strs(args, "db");
  if (databases.length === 0 && parsed?.database !== undefined) databases.push(parsed.database);
  return { type, connection, databases };
}

function printToolStderr(ctx: CliContext, err: unknown): void {
  if (err instanceof ToolError && err.stderr.trim() !== "" && !ctx.out.json) {
    const lines = err.stderr.trimEnd().split("\n").slice(-20);
    ctx.io.stderr.write(`${lines.map((l) => `  | ${l}`).join("\n")}\n`);
  }
}

/** Tags of a failed `db backup` run's status object: `--tag`s and `db:TYPE:NAME` per `--db`. */
function requestedTags(
  args: ParsedArgs,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const tags = strs(args, "tag")
    .flatMap((t) => t.split(","))
    .filter((t) => t !== "");
  try {
    const { type, databases } = readConnection(args, env);
    return [...tags, ...databases.map((d) => dbTag(type, d))];
  } catch {
    return tags; // a usage error: reportFailure does not report it anyway
  }
}

async function runBackup(ctx: CliContext, args: ParsedArgs): Promise<number> {
  const { type, connection, databases } = readConnection(args, ctx.io.env);
  const all = flag(args, "all-databases");
  if (databases.length === 0 && !all)
    throw new CofferError("BAD_INPUT", "db backup: give --db NAME (repeatable) or --all-databases");
  const timeArg = str(args, "time");
  const repo = await ctx.repository();
  await removeStaleTemp(ctx, repo.storage);
  const failures: DbBackupOutcome[] = [];
  const outcomes = await backupDatabases(repo, {
    type,
    connection,
    databases,
    allDatabases: all,
    tags: strs(args, "tag")
      .flatMap((t) => t.split(","))
      .filter((t) => t !== ""),
    host: ctx.hostname,
    env: ctx.io.env,
    ...(timeArg !== undefined ? { time: parseTime(timeArg) } : {}),
    onResult: (r) => {
      if (r.error !== undefined) {
        failures.push(r);
        return;
      }
      if (ctx.out.json) {
        ctx.out.data({
          message_type: "summary",
          type: r.type,
          database: r.database,
          snapshot_id: r.snapshotId,
          bytes: r.bytes,
          added_bytes: r.addedBytes,
        });
      } else {
        ctx.out.summary(
          `snapshot ${(r.snapshotId ?? "").slice(0, 8)} saved: ${r.type} database ${r.database}, ${formatBytes(r.bytes ?? 0)} dumped, ${formatBytes(r.addedBytes ?? 0)} new`,
        );
      }
    },
  });
  const [only] = failures;
  if (outcomes.length === 1 && only?.error !== undefined) {
    if (flag(args, "verbose")) printToolStderr(ctx, only.error);
    throw only.error;
  }
  for (const f of failures) {
    const msg = f.error?.message ?? "failed";
    if (ctx.repoUrl.startsWith("s3:")) {
      // Some dumps failed, others committed: one status object per failed database (a "backup failed" alert).
      const tags = [
        ...strs(args, "tag")
          .flatMap((t) => t.split(","))
          .filter((t) => t !== ""),
        dbTag(f.type, f.database),
      ];
      await writeRunStatus(await ctx.storage(), {
        ok: false,
        message: msg.split("\n")[0] ?? "",
        tags,
        host: ctx.hostname,
        time: new Date().toISOString(),
      }).catch(() => undefined);
    }
    if (ctx.out.json)
      ctx.io.stderr.write(
        `${JSON.stringify({ message_type: "error", code: f.error?.code, database: f.database, message: msg })}\n`,
      );
    else ctx.io.stderr.write(`coffer: ${msg}\n`);
  }
  if (failures.length > 0 && !ctx.out.json) {
    ctx.io.stderr.write(
      `coffer: ${String(failures.length)} of ${String(outcomes.length)} database dumps failed; nothing was committed for them\n`,
    );
  }
  return failures.length > 0 ? ExitCode.FATAL : ExitCode.OK;
}

async function runRestore(ctx: CliContext, args: ParsedArgs): Promise<number> {
  const ref = args.positionals[1];
  if (ref === undefined)
    throw new CofferError("BAD_INPUT", "db restore: give a snapshot ID or latest");
  const { type, connection, databases } = readConnection(args, ctx.io.env);
  const [database, extra] = databases;
  if (database === undefined || extra !== undefined)
    throw new CofferError("BAD_INPUT", "db restore: give exactly one target with --db");
  const from = str(args, "from");
  const repo = await ctx.repository();
  try {
    const r = await restoreDatabase(repo, {
      type,
      snapshot: ref,
      database,
      connection,
      create: flag(args, "create"),
      dropExisting: flag(args, "drop-existing"),
      env: ctx.io.env,
      ...(from !== undefined ? { from } : {}),
    });
    if (ctx.out.json) {
      ctx.out.data({
        message_type: "summary",
        snapshot_id: r.snapshotId,
        source: r.source,
        database: r.database,
        bytes: r.bytes,
        prepared: r.prepared,
      });
    } else {
      ctx.out.summary(
        `${r.prepared}; restored ${type} dump of ${r.source} from snapshot ${r.snapshotId.slice(0, 8)} (${formatBytes(r.bytes)}) into ${r.database}`,
      );
    }
    return ExitCode.OK;
  } catch (err) {
    printToolStderr(ctx, err);
    throw err;
  }
}

async function runList(ctx: CliContext, args: ParsedArgs): Promise<number> {
  const typeArg = str(args, "type");
  if (typeArg !== undefined && !DB_TYPES.includes(typeArg as DbType))
    throw new CofferError("BAD_INPUT", `Unknown --type "${typeArg}"`);
  const [db] = strs(args, "db");
  const repo = await ctx.repository();
  const groups = await listDbSnapshots(repo, {
    ...(typeArg !== undefined ? { type: typeArg as DbType } : {}),
    ...(db !== undefined ? { database: db } : {}),
  });
  if (ctx.out.json) {
    ctx.out.data(groups);
    return ExitCode.OK;
  }
  if (groups.length === 0) ctx.out.line("no database snapshots");
  for (const g of groups) {
    ctx.out.line(
      `${g.type} ${g.database} (${String(g.snapshots.length)} snapshot${g.snapshots.length === 1 ? "" : "s"})`,
    );
    for (const s of g.snapshots) {
      ctx.out.line(
        `  ${s.id.slice(0, 8)}  ${s.time.replace("T", " ").slice(0, 19)}  ${s.host}  ${formatBytes(s.size).padStart(12)}  ${s.tool ?? ""}`,
      );
    }
  }
  return ExitCode.OK;
}

async function runDiscover(ctx: CliContext, args: ParsedArgs): Promise<number> {
  const timeout = Number(str(args, "timeout") ?? "3000");
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new CofferError("BAD_INPUT", "Bad --timeout: give milliseconds");
  const user = str(args, "user");
  const pw = ctx.io.env.COFFER_DB_PASSWORD;
  const found = await discoverDatabases({
    env: ctx.io.env,
    timeoutMs: timeout,
    ...(user !== undefined ? { user } : {}),
    ...(pw !== undefined ? { password: pw } : {}),
  });
  if (ctx.out.json) {
    ctx.out.data(found);
    return ExitCode.OK;
  }
  if (found.length === 0)
    ctx.out.line("no PostgreSQL or MySQL/MariaDB server found on the local sockets or 127.0.0.1");
  for (const i of found) {
    const head = `${i.type} ${i.endpoint}`;
    if (!i.reachable) {
      ctx.out.line(`${head}: unreachable: ${i.error ?? "?"}`);
      continue;
    }
    ctx.out.line(`${head}: ${i.version ?? "?"} as ${i.user ?? "?"}`);
    if (i.databases !== undefined)
      ctx.out.line(
        `  databases: ${i.databases.length > 0 ? i.databases.join(", ") : "(none visible)"}`,
      );
    if (i.error !== undefined) ctx.out.line(`  error: ${i.error}`);
    for (const m of i.missing) ctx.out.line(`  missing privilege: ${m}`);
  }
  return ExitCode.OK;
}

/** `coffer db backup|restore|list|discover`: database dumps. */
export const dbCommand: Command = {
  name: "db",
  summary: "back up, restore, list and discover PostgreSQL, MySQL/MariaDB and SQLite databases",
  usage: [
    "db backup --type postgres|mysql|sqlite (--db NAME... | --all-databases) [--host H --port P --user U | --uri URI] [--tag T]",
    "       coffer db restore SNAPSHOT|latest --type TYPE --db TARGET [--from SOURCE] [--create] [--drop-existing]",
    "       coffer db list [--type TYPE] [--db NAME]",
    "       coffer db discover [--user U] [--timeout MS]",
    "",
    "Database passwords come from COFFER_DB_PASSWORD or the --uri, never the command line.",
  ].join("\n"),
  options: {
    type: { type: "string", arg: "TYPE", help: "postgres, mysql or sqlite" },
    db: {
      type: "string",
      multiple: true,
      arg: "NAME",
      help: "database name (SQLite: file path); repeatable for backup",
    },
    "all-databases": {
      type: "boolean",
      help: "back up every user database of the server, one snapshot each",
    },
    host: {
      type: "string",
      arg: "HOST",
      help: "server host, or a socket directory/path starting with /",
    },
    port: { type: "string", arg: "PORT", help: "server port" },
    user: { type: "string", arg: "USER", help: "database user" },
    uri: { type: "string", arg: "URI", help: "postgres://user:pass@host:port/db or mysql://..." },
    tag: {
      type: "string",
      multiple: true,
      arg: "TAG",
      help: "extra tag (db:TYPE:NAME is always added)",
    },
    time: { type: "string", arg: "TIME", help: "record this snapshot time (importing history)" },
    from: {
      type: "string",
      arg: "SOURCE",
      help: "restore: source database name for latest (default: the target's)",
    },
    create: { type: "boolean", help: "restore: create the target database when missing" },
    "drop-existing": { type: "boolean", help: "restore: drop and re-create a non-empty target" },
    timeout: { type: "string", arg: "MS", help: "discover: per-probe timeout (default 3000)" },
  },
  async run(ctx, args) {
    const sub = args.positionals[0];
    switch (sub) {
      case "backup":
        // A failed run on a coffer-server repository leaves status/<time>.json (a "backup failed" alert).
        return reportFailure(ctx, requestedTags(args, ctx.io.env), () => runBackup(ctx, args));
      case "restore":
        return runRestore(ctx, args);
      case "list":
        return runList(ctx, args);
      case "discover":
        return runDiscover(ctx, args);
      default:
        throw new CofferError(
          "BAD_INPUT",
          `db: give a subcommand: ${SUBCOMMANDS.join(", ")} (see coffer db --help)`,
        );
    }
  },
};
