import { Socket } from "node:net";
import { readdir, realpath, stat } from "node:fs/promises";
import { mysqlQuery } from "./mysql.ts";
import { PG_MAINTENANCE_DB, postgresDriver, psqlQuery } from "./postgres.ts";
import { errorLine, ToolError, type ToolEnv } from "./run-tool.ts";
import { describeConnection, type DbConnection } from "./types.ts";

/** One database server endpoint that discovery tried. */
export interface DiscoveredInstance {
  type: "postgres" | "mysql";
  /** `socket /var/run/postgresql (port 5432)` or `127.0.0.1:5432`. */
  endpoint: string;
  connection: DbConnection;
  reachable: boolean;
  version?: string;
  user?: string;
  databases?: string[];
  /** Why connecting or listing failed (one line). */
  error?: string;
  /** Privileges the user lacks for listing or dumping, each a sentence. */
  missing: string[];
}

/** Options for {@link discoverDatabases}. */
export interface DiscoverOptions {
  env?: ToolEnv;
  user?: string;
  password?: string;
  /** Per-probe timeout (default 3000 ms). */
  timeoutMs?: number;
  pgSocketDirs?: string[];
  mysqlSockets?: string[];
  pgTcp?: { host: string; port: number }[];
  mysqlTcp?: { host: string; port: number }[];
}

const PG_SOCKET_DIRS = ["/var/run/postgresql", "/run/postgresql", "/tmp"];
const MYSQL_SOCKETS = [
  "/run/mysqld/mysqld.sock",
  "/var/run/mysqld/mysqld.sock",
  "/tmp/mysql.sock",
  "/var/lib/mysql/mysql.sock",
];

/** True when something accepts TCP connections at host:port within `ms`. */
export function tcpOpen(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(ms, () => {
      done(false);
    });
    s.once("error", () => {
      done(false);
    });
    s.connect(port, host, () => {
      done(true);
    });
  });
}

async function pgSockets(dirs: string[]): Promise<DbConnection[]> {
  const seen = new Set<string>();
  const out: DbConnection[] = [];
  for (const dir of dirs) {
    const real = await realpath(dir).catch(() => undefined);
    if (real === undefined || seen.has(real)) continue;
    seen.add(real);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const m = /^\.s\.PGSQL\.(\d+)$/.exec(name);
      if (m) out.push({ host: dir, port: Number(m[1]) });
    }
  }
  return out;
}

async function mysqlSockets(paths: string[]): Promise<DbConnection[]> {
  const seen = new Set<string>();
  const out: DbConnection[] = [];
  for (const p of paths) {
    const real = await realpath(p).catch(() => undefined);
    if (real === undefined || seen.has(real)) continue;
    const st = await stat(real).catch(() => undefined);
    if (st?.isSocket() !== true) continue;
    seen.add(real);
    out.push({ host: p });
  }
  return out;
}

function failure(err: unknown): string {
  if (err instanceof ToolError) return errorLine(err.stderr) || err.message;
  return err instanceof Error ? err.message : String(err);
}

function authHint(line: string): string | undefined {
  if (
    /password authentication failed|Access denied|no password supplied|Peer authentication failed|authentication failed/i.test(
      line,
    )
  ) {
    return "authentication failed: give --user and the password (COFFER_DB_PASSWORD or --uri)";
  }
  return undefined;
}

async function probePostgres(
  conn: DbConnection,
  env: ToolEnv,
  ms: number,
): Promise<DiscoveredInstance> {
  const inst: DiscoveredInstance = {
    type: "postgres",
    endpoint: endpoint(conn),
    connection: conn,
    reachable: false,
    missing: [],
  };
  const e = postgresDriver.env(conn, {
    ...env,
    PGCONNECT_TIMEOUT: String(Math.max(1, Math.ceil(ms / 1000))),
  });
  try {
    const [row] = await psqlQuery(
      conn,
      e,
      PG_MAINTENANCE_DB,
      `select current_user, (select rolsuper from pg_roles where rolname = current_user),
        exists(select 1 from pg_roles r where r.rolname = 'pg_read_all_data' and pg_has_role(current_user, r.oid, 'MEMBER')),
        current_setting('server_version')`,
      ms,
    );
    inst.reachable = true;
    inst.user = row?.[0] ?? "";
    inst.version = row?.[3] ?? "";
    if (row?.[1] !== "t" && row?.[2] !== "t") {
      inst.missing.push(
        `role "${inst.user}" is neither superuser nor a member of pg_read_all_data: pg_dump fails on tables it may not SELECT`,
      );
    }
  } catch (err) {
    const line = failure(err);
    inst.error = authHint(line) !== undefined ? `${line} (${authHint(line) ?? ""})` : line;
    return inst;
  }
  try {
    const rows = await psqlQuery(
      conn,
      e,
      PG_MAINTENANCE_DB,
      "select datname, has_database_privilege(datname, 'CONNECT') from pg_database where datallowconn and not datistemplate order by datname",
      ms,
    );
    inst.databases = rows.map((r) => r[0] ?? "");
    const denied = rows.filter((r) => r[1] !== "t").map((r) => r[0] ?? "");
    if (denied.length > 0)
      inst.missing.push(
        `no CONNECT privilege on database(s) ${denied.join(", ")}: they cannot be dumped`,
      );
  } catch (err) {
    const line = failure(err);
    inst.error = `cannot list databases: ${line}`;
    if (/permission denied/i.test(line))
      inst.missing.push("SELECT on pg_catalog.pg_database (needed to list databases)");
  }
  return inst;
}

const MYSQL_DUMP_PRIVILEGES = ["SHOW DATABASES", "SELECT", "SHOW VIEW", "TRIGGER", "EVENT"];

async function probeMysql(
  conn: DbConnection,
  env: ToolEnv,
  ms: number,
): Promise<DiscoveredInstance> {
  const inst: DiscoveredInstance = {
    type: "mysql",
    endpoint: endpoint(conn),
    connection: conn,
    reachable: false,
    missing: [],
  };
  const e: Record<string, string | undefined> = { ...env };
  if (conn.password !== undefined) e.MYSQL_PWD = conn.password;
  try {
    const [row] = await mysqlQuery(conn, e, "SELECT VERSION(), CURRENT_USER()", undefined, ms);
    inst.reachable = true;
    inst.version = row?.[0] ?? "";
    inst.user = row?.[1] ?? "";
  } catch (err) {
    const line = failure(err);
    inst.error = authHint(line) !== undefined ? `${line} (${authHint(line) ?? ""})` : line;
    return inst;
  }
  try {
    const grants = (await mysqlQuery(conn, e, "SHOW GRANTS", undefined, ms)).map((r) => r[0] ?? "");
    const global = grants
      .filter((g) => / ON \*\.\* TO /i.test(g))
      .join(" ")
      .toUpperCase();
    if (!global.includes("ALL PRIVILEGES")) {
      const lacking = MYSQL_DUMP_PRIVILEGES.filter(
        (p) => !new RegExp(`(GRANT |, )${p}(,| ON)`).test(global),
      );
      if (lacking.length > 0) {
        inst.missing.push(
          `user ${inst.user ?? ""} lacks global ${lacking.join(", ")}: databases or objects it cannot see are not listed or dumped`,
        );
      }
    }
  } catch (err) {
    inst.missing.push(`cannot read grants: ${failure(err)}`);
  }
  try {
    const rows = await mysqlQuery(conn, e, "SHOW DATABASES", undefined, ms);
    inst.databases = rows.map((r) => r[0] ?? "").filter((d) => d !== "information_schema");
    if (inst.databases.length === 0)
      inst.missing.push(
        "no database visible: missing SHOW DATABASES or any privilege on a database",
      );
  } catch (err) {
    inst.error = `cannot list databases: ${failure(err)}`;
  }
  return inst;
}

function endpoint(c: DbConnection): string {
  if (c.host?.startsWith("/") === true)
    return `socket ${c.host}${c.port !== undefined ? ` (port ${String(c.port)})` : ""}`;
  return describeConnection(c);
}

/**
 * Finds PostgreSQL and MySQL/MariaDB servers on this machine: the usual local sockets
 * first, then TCP on 127.0.0.1, all probed in parallel with short timeouts. Lists each
 * reachable instance's databases and says which privilege is missing when it cannot.
 */
export async function discoverDatabases(o: DiscoverOptions = {}): Promise<DiscoveredInstance[]> {
  const env = o.env ?? process.env;
  const ms = o.timeoutMs ?? 3000;
  const auth: DbConnection = {};
  if (o.user !== undefined) auth.user = o.user;
  if (o.password !== undefined) auth.password = o.password;
  const [pgSock, mySock] = await Promise.all([
    pgSockets(o.pgSocketDirs ?? PG_SOCKET_DIRS),
    mysqlSockets(o.mysqlSockets ?? MYSQL_SOCKETS),
  ]);
  const pgTcp = o.pgTcp ?? [{ host: "127.0.0.1", port: Number(env.PGPORT ?? 5432) }];
  const myTcp = o.mysqlTcp ?? [{ host: "127.0.0.1", port: 3306 }];
  const probes: Promise<DiscoveredInstance | undefined>[] = [
    ...pgSock.map((c) => probePostgres({ ...c, ...auth }, env, ms)),
    ...mySock.map((c) => probeMysql({ ...c, ...auth }, env, ms)),
    ...pgTcp.map(async (t) =>
      (await tcpOpen(t.host, t.port, ms)) ? probePostgres({ ...t, ...auth }, env, ms) : undefined,
    ),
    ...myTcp.map(async (t) =>
      (await tcpOpen(t.host, t.port, ms)) ? probeMysql({ ...t, ...auth }, env, ms) : undefined,
    ),
  ];
  return (await Promise.all(probes)).filter((x): x is DiscoveredInstance => x !== undefined);
}
