import { createReadStream } from "node:fs";
import { mkdtemp, open, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import Database from "better-sqlite3";
import { CofferError, fromSystemError } from "../core/errors.ts";

/** The SQLite library version better-sqlite3 was built with. */
export function sqliteLibraryVersion(): string {
  const db = new Database(":memory:");
  try {
    return String(db.prepare("select sqlite_version()").pluck().get());
  } finally {
    db.close();
  }
}

function openSource(path: string): Database.Database {
  try {
    return new Database(path, { fileMustExist: true, timeout: 10_000 });
  } catch (err) {
    // A file we may only read: a read-only connection still runs the backup API.
    try {
      return new Database(path, { fileMustExist: true, readonly: true, timeout: 10_000 });
    } catch {
      throw new CofferError(
        "NOT_FOUND",
        `Cannot open SQLite database ${path}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}

/** A consistent copy of a live SQLite database, removed by `dispose()`. */
export interface SqliteCopy {
  path: string;
  size: number;
  dispose(): Promise<void>;
}

/**
 * Makes a consistent online copy of `path` with SQLite's backup API into a private temporary
 * directory. The first step only opens the backup; the second copies every page in one step
 * under one read transaction, so concurrent writers (in another process) can at worst cause
 * one restart, never an endless one, and the copy is the database at a single commit.
 * The copy is checked with `PRAGMA quick_check` before it is used.
 */
export async function sqliteConsistentCopy(path: string): Promise<SqliteCopy> {
  const src = openSource(path);
  const dir = await mkdtemp(join(tmpdir(), "coffer-sqlite-"));
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  const copy = join(dir, "copy.db");
  try {
    try {
      await src.backup(copy, { progress: () => 0x7fffffff });
    } catch (err) {
      throw new CofferError(
        "COMMAND_FAILED",
        `Cannot back up SQLite database ${path}: ${(err as Error).message}`,
        { cause: err },
      );
    } finally {
      src.close();
    }
    const check = new Database(copy, { readonly: true });
    try {
      const r = check.pragma("quick_check", { simple: true });
      if (r !== "ok")
        throw new CofferError("CORRUPT", `SQLite database ${path} fails quick_check: ${String(r)}`);
    } finally {
      check.close();
    }
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
export interface SqliteRestoreOptions {
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
    const check = new Database(tmp, { readonly: true });
    try {
      const r = check.pragma("integrity_check", { simple: true });
      if (r !== "ok")
        throw new CofferError(
          "CORRUPT",
          `Restored SQLite database fails integrity_check: ${String(r)}`,
        );
    } finally {
      check.close();
    }
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
