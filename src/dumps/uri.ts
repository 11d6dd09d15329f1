import { CofferError } from "../core/errors.ts";
import type { DbConnection, DbType } from "./types.ts";

/** A parsed connection URI. */
export interface ParsedDbUri {
  type: DbType;
  connection: DbConnection;
  database?: string;
}

/**
 * Parses `postgres://user:pass@host:port/db?sslmode=require`, `postgresql://...`,
 * `mysql://...` or `mariadb://...`. A `host` query parameter (a socket path) overrides the
 * authority's host, as libpq allows.
 * @throws CofferError BAD_INPUT for anything else (the password is never echoed).
 */
export function parseDbUri(uri: string): ParsedDbUri {
  let u: URL;
  try {
    u = new URL(uri);
  } catch (err) {
    throw new CofferError(
      "BAD_INPUT",
      "Cannot parse --uri: not a URI like postgres://user@host:5432/db",
      { cause: err },
    );
  }
  const scheme = u.protocol.replace(/:$/, "");
  const type: DbType | undefined =
    scheme === "postgres" || scheme === "postgresql"
      ? "postgres"
      : scheme === "mysql" || scheme === "mariadb"
        ? "mysql"
        : undefined;
  if (type === undefined) {
    throw new CofferError(
      "BAD_INPUT",
      `Cannot parse --uri: unsupported scheme "${scheme}" (use postgres://, postgresql://, mysql:// or mariadb://)`,
    );
  }
  const connection: DbConnection = {};
  if (u.hostname !== "")
    connection.host = decodeURIComponent(u.hostname.replace(/^\[(.*)\]$/, "$1"));
  if (u.port !== "") connection.port = Number(u.port);
  if (u.username !== "") connection.user = decodeURIComponent(u.username);
  if (u.password !== "") connection.password = decodeURIComponent(u.password);
  const params: Record<string, string> = {};
  for (const [k, v] of u.searchParams) {
    if (k === "host") connection.host = v;
    else if (k === "port") connection.port = Number(v);
    else if (k === "user") connection.user = v;
    else if (k === "password") connection.password = v;
    else params[k] = v;
  }
  if (
    connection.port !== undefined &&
    !(Number.isInteger(connection.port) && connection.port > 0 && connection.port < 65536)
  ) {
    throw new CofferError("BAD_INPUT", "Cannot parse --uri: bad port");
  }
  if (Object.keys(params).length > 0) connection.params = params;
  const path = decodeURIComponent(u.pathname.replace(/^\//, ""));
  return { type, connection, ...(path !== "" ? { database: path } : {}) };
}
