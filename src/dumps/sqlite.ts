import { createReadStream } from "node:fs";
import { mkdtemp, open, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { CofferError, fromSystemError } from "../core/errors.ts";
import { runTool, ToolError, toolFailure, type ToolEnv } from "./run-tool.ts";

/**
 * SQLite databases are copied and checked with the `sqlite3` command-line tool (Debian's
 * `sqlite3` package), as PostgreSQL and MySQL dumps use `pg_dump` and `mariadb-dump`: the
 * client ships no SQLite library of its own (ADR 0013).
 */
const SQLITE3 = "sqlite3";

/** Options of the functions that run `sqlite3`. */
export interface SqliteToolOptions {
  /** Environment of the tool; its PATH finds `sqlite3`. Default: this process's. */
  env?: ToolEnv;
}

/**
 * An absolute path as a SQLite URI (`file:/a/b%20c.db?mode=rw`), so that the tool never
 * creates a missing file (`mode=rw`) and takes any character in a name literally.
 */
function sqliteUri(path: string, mode: "rw" | "ro"): string {
  return `file:${path.split("/").map(encodeURIComponent).join("/")}?mode=${mode}`;
}

/** A dot-command argument in double quotes (the shell resolves `\\` and `\"` inside). */
function dotArg(s: string): string {
  if (/[\n\r]/.test(s))
    throw new CofferError(
      "BAD_INPUT",
      `Cannot pass a path with a line break to sqlite3: ${JSON.stringify(s)}`,
    );
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** Runs `sqlite3` without reading ~/.sqliterc; a failure throws a one-line error. */
async function sqlite3(
  args: readonly string[],
  what: string,
  o: SqliteToolOptions,
): Promise<string> {
  const r = await runTool(SQLITE3, ["-batch", "-bail", "-init", "/dev/null", ...args], {
    env: o.env ?? process.env,
  });
  if (r.code === null && r.signal === null && /command not found/.test(r.stderr)) {
    throw new ToolError(
      `${what}: the sqlite3 command-line tool is not installed (Debian: apt install sqlite3)`,
      r.stderr,
    );
  }
  if (r.code !== 0) throw toolFailure(what, SQLITE3, r);
  return r.stdout;
}

/** The version of the `sqlite3` tool (and of the SQLite library it runs), e.g. `3.40.1`. */
export async function sqliteLibraryVersion(o: SqliteToolOptions = {}): Promise<string> {
  const out = await sqlite3(["--version"], "Cannot run sqlite3 --version", o);
  const m = /^(\d+(?:\.\d+)+)/.exec(out.trim());
  if (!m?.[1])
    throw new CofferError(
      "COMMAND_FAILED",
      `Cannot read the version in sqlite3 --version output: ${JSON.stringify(out.trim())}`,
    );
  return m[1];
}

/** A consistent copy of a live SQLite database, removed by `dispose()`. */
export interface SqliteCopy {
  path: string;
  size: number;
  dispose(): Promise<void>;
}

/**
 * Makes a consistent online copy of `path` with SQLite's backup API (`sqlite3`'s `.backup`)
 * into a private temporary directory. The copy runs inside one read transaction (`BEGIN` and
 * a first read), so its steps never restart however busy concurrent writers (in other
 * processes) are, and the copy is the database at a single commit. A missing file is an
 * error, never created. The copy is checked with `PRAGMA quick_check` before it is used.
 */
export async function sqliteConsistentCopy(
  path: string,
  o: SqliteToolOptions = {},
): Promise<SqliteCopy> {
  const st = await stat(path).catch((err: unknown) => {
    throw fromSystemError(err, `Cannot open SQLite database ${path}`);
  });
  if (!st.isFile())
    throw new CofferError(
      "BAD_INPUT",
      `Cannot back up SQLite database ${path}: not a regular file`,
    );
  const dir = await mkdtemp(join(tmpdir(), "coffer-sqlite-"));
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  const copy = join(dir, "copy.db");
  try {
    await sqlite3(
      [
        sqliteUri(path, "rw"),
        ".timeout 10000",
        "BEGIN",
        "SELECT count(*) FROM sqlite_schema",
        `.backup ${dotArg(copy)}`,
        "COMMIT",
      ],
      `Cannot back up SQLite database ${path}`,
      o,
    );
    const r = (
      await sqlite3(
        [sqliteUri(copy, "ro"), "PRAGMA quick_check"],
        `Cannot check the copy of SQLite database ${path}`,
        o,
      )
    ).trim();
    if (r !== "ok")
      throw new CofferError(
        "CORRUPT",
        `SQLite database ${path} fails quick_check: ${r.split("\n")[0] ?? ""}`,
      );
    const size = (await stat(copy)).size;
    return { path: copy, size, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** Reads a file in 1 MiB pieces. */
export function readFilePieces(path: string): AsyncIterable<Uint8Array> {
  return createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Uint8Array>;
}

/** Options for {@link restoreSqliteFile}. */
export interface SqliteRestoreOptions extends SqliteToolOptions {
  /** Replace an existing non-empty file (and remove its -wal/-shm/-journal). */
  dropExisting: boolean;
}

/**
 * Writes a SQLite dump to `target` atomically: a temporary file beside it, fsynced,
 * `PRAGMA integrity_check`ed, then renamed into place. Refuses an existing non-empty
 * file unless `dropExisting`.
 */
export async function restoreSqliteFile(
  content: AsyncIterable<Uint8Array>,
  target: string,
  o: SqliteRestoreOptions,
): Promise<string> {
  const existing = await stat(target).catch(() => undefined);
  if (existing !== undefined && existing.size > 0 && !o.dropExisting) {
    throw new CofferError(
      "CONFLICT",
      `Refusing to restore over SQLite database ${target}: it is not empty; use --drop-existing to replace it`,
    );
  }
  const tmp = join(dirname(target), `.${basename(target)}.coffer-restore-${String(process.pid)}`);
  let fh;
  try {
    fh = await open(tmp, "wx", 0o600);
  } catch (err) {
    throw fromSystemError(err, `Cannot restore SQLite database to ${target}`);
  }
  try {
    try {
      for await (const piece of content) await fh.write(piece);
      await fh.sync();
    } finally {
      await fh.close();
    }
    const r = (
      await sqlite3(
        [sqliteUri(tmp, "ro"), "PRAGMA integrity_check"],
        `Cannot check the restored SQLite database ${target}`,
        o,
      )
    ).trim();
    if (r !== "ok")
      throw new CofferError(
        "CORRUPT",
        `Restored SQLite database fails integrity_check: ${r.split("\n")[0] ?? ""}`,
      );
    if (existing !== undefined) {
      for (const ext of ["-wal", "-shm", "-journal"]) await rm(`${target}${ext}`, { force: true });
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err instanceof CofferError
      ? err
      : fromSystemError(err, `Cannot restore SQLite database to ${target}`);
  }
  return existing !== undefined ? `replaced ${target}` : `created ${target}`;
}
