import Database from "better-sqlite3";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CofferError } from "../core/errors.ts";

/** An exclusive hold on a data directory; `release` lets another server start. */
export interface DataDirLock {
  release(): void;
}

function holderOf(dataDir: string): string {
  try {
    const info = JSON.parse(readFileSync(join(dataDir, "server.json"), "utf8")) as {
      pid?: unknown;
      endpoint?: unknown;
    };
    if (typeof info.pid === "number" && typeof info.endpoint === "string")
      return ` (pid ${String(info.pid)}, ${info.endpoint})`;
  } catch {
    // no or unreadable server.json: the holder is still starting
  }
  return "";
}

/**
 * Takes the data directory's exclusive server lock: an SQLite database `server.lock` held in
 * exclusive locking mode, i.e. a kernel (fcntl) lock that the OS releases when the process
 * dies, so a killed server never leaves a stale lock. A second `coffer-server start` on the
 * same directory (another process or the same one) is refused with a CONFIG error naming the
 * running server. Admin commands (`source add`, ...) do not take it: they share the metadata
 * database with the running server.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, "server.lock");
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: 0 });
    db.pragma("locking_mode = EXCLUSIVE");
    // A write takes the exclusive lock; exclusive locking mode keeps it until close.
    db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER)");
    db.exec("BEGIN EXCLUSIVE");
    db.prepare("DELETE FROM holder").run();
    db.prepare("INSERT INTO holder (pid) VALUES (?)").run(process.pid);
    db.exec("COMMIT");
  } catch (err) {
    db?.close();
    const code = (err as { code?: string }).code ?? "";
    if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))
      throw new CofferError(
        "CONFIG",
        `Cannot start: data directory ${dataDir} is in use by another coffer-server${holderOf(dataDir)}`,
        { cause: err },
      );
    throw new CofferError(
      "PERMISSION_DENIED",
      `Cannot lock data directory ${dataDir}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const held = db;
  return {
    release() {
      if (held.open) held.close();
    },
  };
}
