import { CofferError } from "../core/errors.ts";
import type { DbType } from "./types.ts";

/** A version number found in a tool's or server's version text. */
export interface ParsedVersion {
  /** The full dotted number, e.g. `15.20` or `10.11.19`. */
  text: string;
  parts: number[];
  /** `MariaDB` when the text says so, `MySQL` for other mysql-family text, else undefined. */
  flavor?: "MariaDB" | "MySQL";
}

/**
 * Finds the version in `pg_dump --version` (`pg_dump (PostgreSQL) 15.20 (Debian ...)`),
 * `SHOW server_version`, `mariadb-dump --version` (`... Ver 10.19 Distrib 10.11.19-MariaDB`:
 * the Distrib number is the server series), `mysqldump --version` or `SELECT VERSION()`.
 */
export function parseVersion(type: DbType, text: string): ParsedVersion | undefined {
  const distrib = /Distrib\s+(\d+(?:\.\d+)+)/i.exec(text);
  const m =
    distrib ??
    (type === "postgres" ? /(?:PostgreSQL\)?\s+)?(\d+(?:\.\d+)*)/ : /(\d+(?:\.\d+)+)/).exec(text);
  if (!m) return undefined;
  const num = m[1]!;
  const v: ParsedVersion = { text: num, parts: num.split(".").map(Number) };
  if (type === "mysql") v.flavor = /mariadb/i.test(text) ? "MariaDB" : "MySQL";
  return v;
}

/**
 * The release series that must not be newer on the server than in the client tool:
 * PostgreSQL's major (15; 9.6 before 10), MySQL/MariaDB's major.minor (8.0, 10.11).
 */
export function series(type: DbType, v: ParsedVersion): number[] {
  const [a = 0, b = 0] = v.parts;
  if (type === "postgres") return a >= 10 ? [a] : [a, b];
  return [a, b];
}

function cmp(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Where the client and server version texts come from; injectable for tests. */
export interface VersionProbe {
  /** The dump tool's `--version` output. */
  client(): Promise<string>;
  /** The server's version string. */
  server(): Promise<string>;
}

/** Both versions, as found. */
export interface CheckedVersions {
  client: string;
  server: string;
}

/**
 * Refuses, before any dump starts, a dump tool whose release series is older than the
 * server's (pg_dump refuses such servers half-way; mysqldump silently misses features).
 * @throws CofferError DB_VERSION `pg_dump 14.2 is older than the PostgreSQL 15.20 server: ...`
 */
export async function checkToolVersion(
  type: DbType,
  tool: string,
  probe: VersionProbe,
): Promise<CheckedVersions> {
  const [clientText, serverText] = await Promise.all([probe.client(), probe.server()]);
  const c = parseVersion(type, clientText);
  const s = parseVersion(type, serverText);
  if (c === undefined)
    throw new CofferError(
      "DB_VERSION",
      `Cannot read the version of ${tool} from ${JSON.stringify(clientText.trim().slice(0, 80))}`,
    );
  if (s === undefined)
    throw new CofferError(
      "DB_VERSION",
      `Cannot read the server version from ${JSON.stringify(serverText.trim().slice(0, 80))}`,
    );
  const sameFamily = type === "postgres" || c.flavor === s.flavor;
  if (sameFamily && cmp(series(type, c), series(type, s)) < 0) {
    const server = type === "postgres" ? "PostgreSQL" : (s.flavor ?? "MySQL");
    throw new CofferError(
      "DB_VERSION",
      `${tool} ${c.text} is older than the ${server} ${s.text} server: install a ${tool} of version ${series(type, s).join(".")} or newer before dumping`,
    );
  }
  return { client: clientText.trim().split("\n")[0] ?? "", server: serverText.trim() };
}
