import type { ToolEnv } from "./run-tool.ts";
import type { DbConnection } from "./types.ts";
import type { VersionProbe } from "./version.ts";

/** A command line to spawn. */
export interface ToolCommand {
  command: string;
  args: string[];
}

/** What restoring into a server needs to know about the target. */
export interface RestoreTargetOptions {
  /** Create the database when it does not exist. */
  create: boolean;
  /** Drop and re-create the database when it exists and is not empty. */
  dropExisting: boolean;
}

/** Per-run options of {@link ServerDriver.dumpCommand}. */
export interface DumpCommandOptions {
  /**
   * pg_dump's `--restrict-key` (the psql `\\restrict` key). pg_dump otherwise draws a random
   * one per run, so identical dumps never fully deduplicate; coffer derives a stable, secret
   * one from the repository key (see postgres.ts `restrictKey`).
   */
  restrictKey?: string;
}

/** A server engine (PostgreSQL, MySQL/MariaDB): how to talk to it with its own tools. */
export interface ServerDriver {
  readonly type: "postgres" | "mysql";
  /** The dump tool's name, e.g. `pg_dump` or `mariadb-dump`. */
  readonly dumpTool: string;
  /** How the dump is stored, recorded in the snapshot (`db.format`). */
  readonly format: string;
  /** Text the dump tool writes at the end of a complete dump (`-- Dump completed`). */
  readonly completionMarker: string;
  /** File name extension of the dump inside the snapshot. */
  readonly extension: string;
  /** The environment for the tools: `base` plus the connection's password etc. */
  env(conn: DbConnection, base: ToolEnv): ToolEnv;
  /** The real version probe: `dumpTool --version` and the server's own answer. */
  probe(conn: DbConnection, env: ToolEnv, database: string | undefined): VersionProbe;
  /** Databases worth dumping with `--all-databases` (no templates or system schemas). */
  listDatabases(conn: DbConnection, env: ToolEnv): Promise<string[]>;
  /** The command that writes `database`'s dump to stdout. */
  dumpCommand(conn: DbConnection, database: string, o?: DumpCommandOptions): ToolCommand;
  /**
   * Makes `database` ready to receive a dump: created when asked, refused when it holds
   * objects unless `dropExisting`. Returns what was done, for the user.
   */
  prepareTarget(
    conn: DbConnection,
    env: ToolEnv,
    database: string,
    o: RestoreTargetOptions,
  ): Promise<string>;
  /** The command that reads a dump on stdin into `database`. */
  restoreCommand(conn: DbConnection, database: string): ToolCommand;
}
