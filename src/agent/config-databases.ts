import { isCofferError } from "../core/errors.ts";
import type { DbConnection } from "../dumps/types.ts";
import { parseDbUri } from "../dumps/uri.ts";
import type { ConfigReader } from "./config-reader.ts";

/** One database server of a `databases` job given explicitly. */
export interface DbServerSpec {
  type: "postgres" | "mysql";
  connection: DbConnection;
  /** Databases to dump; with `all`, every user database besides. */
  databases: string[];
  all: boolean;
  /** File holding the server password (read at run time, never stored in the YAML). */
  passwordFile?: string;
}

/** What a `databases` job dumps. */
export interface DatabasesSpec {
  /** Every PostgreSQL and MySQL/MariaDB database `coffer db discover` finds. */
  discover: boolean;
  servers: DbServerSpec[];
  /** SQLite database files. */
  sqlite: string[];
}

const SERVER_KEYS = ["uri", "type", "host", "port", "user", "password_file", "db", "all"];

/** Reads `databases:` (`discover` or a list of servers) and `sqlite:` of the job at `at`. */
export function parseDatabases(r: ConfigReader, at: string[]): DatabasesSpec | undefined {
  const before = r.issues.length;
  const spec: DatabasesSpec = { discover: false, servers: [], sqlite: [] };
  const v = r.get([...at, "databases"]);
  if (v === "discover") spec.discover = true;
  else if (Array.isArray(v)) {
    v.forEach((_, i) => {
      const s = parseServer(r, [...at, "databases", i]);
      if (s !== undefined) spec.servers.push(s);
    });
  } else if (v !== undefined && v !== null)
    r.issue([...at, "databases"], 'expected "discover" or a list of servers (URIs or mappings)');
  const sqlite = r.strList([...at, "sqlite"]) ?? [];
  sqlite.forEach((p, i) => {
    if (!p.startsWith("/")) r.issue([...at, "sqlite", i], `${p}: expected an absolute path`);
  });
  spec.sqlite = sqlite;
  if (
    r.issues.length === before &&
    !spec.discover &&
    spec.servers.length === 0 &&
    spec.sqlite.length === 0
  )
    r.issue(at, "dumps no database: give databases: discover, a list of servers, or sqlite files");
  return r.issues.length > before ? undefined : spec;
}

function parseServer(r: ConfigReader, at: (string | number)[]): DbServerSpec | undefined {
  const v = r.get(at);
  if (typeof v === "string") return fromUri(r, at, v);
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    r.issue(at, "expected a URI (postgres://user@host/db) or a mapping with type, host, db...");
    return undefined;
  }
  r.keys(at, SERVER_KEYS);
  const uri = r.str([...at, "uri"]);
  const base = uri !== undefined ? fromUri(r, [...at, "uri"], uri) : undefined;
  const typeText = r.str([...at, "type"]);
  if (typeText !== undefined && typeText !== "postgres" && typeText !== "mysql")
    r.issue([...at, "type"], `unknown engine "${typeText}": postgres or mysql (SQLite: sqlite:)`);
  const type = (typeText as "postgres" | "mysql" | undefined) ?? base?.type;
  if (type === undefined) {
    if (uri === undefined) r.issue(at, "needs type: postgres or mysql (or a uri)");
    return undefined;
  }
  const connection: DbConnection = { ...(base?.connection ?? {}) };
  const host = r.str([...at, "host"]);
  const user = r.str([...at, "user"]);
  if (host !== undefined) connection.host = host;
  if (user !== undefined) connection.user = user;
  const port = r.get([...at, "port"]);
  if (port !== undefined) {
    if (typeof port === "number" && Number.isInteger(port) && port > 0 && port < 65536)
      connection.port = port;
    else r.issue([...at, "port"], "expected a port number (1-65535)");
  }
  const databases = [...(base?.databases ?? []), ...(r.strList([...at, "db"]) ?? [])];
  const all = r.bool([...at, "all"]) ?? false;
  if (databases.length === 0 && !all) r.issue(at, "names no database: give db: [...] or all: true");
  const passwordFile = r.str([...at, "password_file"]);
  return {
    type,
    connection,
    databases,
    all,
    ...(passwordFile !== undefined ? { passwordFile } : {}),
  };
}

function fromUri(r: ConfigReader, at: (string | number)[], uri: string): DbServerSpec | undefined {
  try {
    const p = parseDbUri(uri);
    if (p.type === "sqlite") {
      r.issue(at, "SQLite files go under sqlite:");
      return undefined;
    }
    if (p.connection.password !== undefined) {
      r.issue(
        at,
        "the URI holds a password: secrets never go in the configuration (password_file, or COFFER_DB_PASSWORD)",
      );
      return undefined;
    }
    return {
      type: p.type,
      connection: p.connection,
      databases: p.database !== undefined ? [p.database] : [],
      all: p.database === undefined,
    };
  } catch (err) {
    if (!isCofferError(err)) throw err;
    r.issue(at, err.message.replace("--uri", "the URI"));
    return undefined;
  }
}
