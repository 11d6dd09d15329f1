/** The database engines coffer dumps natively. */
export type DbType = "postgres" | "mysql" | "sqlite";

/** Every {@link DbType}. */
export const DB_TYPES: readonly DbType[] = ["postgres", "mysql", "sqlite"];

/**
 * How to reach a database server. Unset fields fall back to the tool's defaults (the local
 * socket, the OS user, `PGHOST`/`MYSQL_HOST`...). `host` may be a socket directory
 * (PostgreSQL) or a socket file (MySQL) when it starts with `/`.
 */
export interface DbConnection {
  host?: string;
  port?: number;
  user?: string;
  /** Handed to the tool through its environment (PGPASSWORD / MYSQL_PWD), never argv. */
  password?: string;
  /** Extra connection parameters from a URI query (e.g. `sslmode=require`). */
  params?: Record<string, string>;
}

/** The tag a database dump snapshot carries: `db:postgres:shop`. */
export function dbTag(type: DbType, name: string): string {
  return `db:${type}:${name}`;
}

/** Parses a `db:TYPE:NAME` tag. */
export function parseDbTag(tag: string): { type: DbType; name: string } | undefined {
  const m = /^db:(postgres|mysql|sqlite):(.+)$/.exec(tag);
  return m ? { type: m[1] as DbType, name: m[2]! } : undefined;
}

/** A human label for where a connection points: `127.0.0.1:5432`, a socket, or `local socket`. */
export function describeConnection(c: DbConnection): string {
  if (c.host === undefined)
    return c.port !== undefined ? `local socket (port ${String(c.port)})` : "local socket";
  return c.port !== undefined && !c.host.startsWith("/") ? `${c.host}:${String(c.port)}` : c.host;
}
