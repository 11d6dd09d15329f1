import { createHash, randomBytes } from "node:crypto";
import { readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type CacheStats,
  OBJECT_ID,
  REPO_ID,
  emptyCacheStats,
  errCode,
  isStaleTemp,
  makeCacheDir,
} from "./cache-dir.ts";

/** The small immutable object kinds cached whole and verified on every read. */
export type CachedObjectKind = "index" | "snapshots";

/**
 * A local cache of one kind of a repository's small immutable objects (index objects,
 * snapshots) under `<base>/<repo id>/<kind>/<object id>`. These objects are named by the
 * SHA-256 of their bytes, so an entry is valid exactly when its bytes hash to its name: every
 * read is verified, and a damaged entry is dropped (the caller fetches the object again).
 * Entries hold the stored (encrypted) bytes, as in the repository. The cache is an
 * optimisation only: any I/O failure bypasses it and is counted, never thrown.
 */
export class ObjectCache {
  /** Directory of this kind's cached objects. */
  readonly dir: string;
  readonly stats: CacheStats = emptyCacheStats();
  readonly #base: string;
  #ready: Promise<boolean> | undefined;

  /**
   * @param base the base cache directory (see `defaultCacheDir`).
   * @param repoId the repository ID (from its config).
   * @param kind which objects: `index` or `snapshots` (the repository's key prefix).
   * @throws Error when `repoId` is not a hex ID (it becomes a path component).
   */
  constructor(base: string, repoId: string, kind: CachedObjectKind) {
    if (!REPO_ID.test(repoId)) throw new Error(`Invalid repository ID for the cache: ${repoId}`);
    this.#base = base;
    this.dir = join(base, repoId, kind);
  }

  /** Creates the directory (and the base's `CACHEDIR.TAG`) once; false when that failed. */
  #prepare(): Promise<boolean> {
    this.#ready ??= makeCacheDir(this.#base, this.dir).then(
      () => true,
      () => {
        this.stats.errors++;
        return false;
      },
    );
    return this.#ready;
  }

  /**
   * The cached bytes of object `id`, verified against the name; undefined when not cached,
   * unreadable or damaged (a damaged entry is removed).
   */
  async get(id: string): Promise<Uint8Array | undefined> {
    if (!OBJECT_ID.test(id)) return undefined;
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.dir, id));
    } catch (err) {
      if (errCode(err) !== "ENOENT") this.stats.errors++;
      this.stats.misses++;
      return undefined;
    }
    if (createHash("sha256").update(bytes).digest("hex") !== id) {
      this.stats.dropped++;
      this.stats.misses++;
      await rm(join(this.dir, id), { force: true }).catch(() => {
        this.stats.errors++;
      });
      return undefined;
    }
    this.stats.hits++;
    return bytes;
  }

  /**
   * Stores object `id` (call it only with bytes that decoded, or that this process wrote);
   * bytes that do not hash to `id` are not stored. Written to a temporary name and renamed,
   * so a reader never sees half an entry.
   */
  async put(id: string, bytes: Uint8Array): Promise<void> {
    if (!OBJECT_ID.test(id) || createHash("sha256").update(bytes).digest("hex") !== id) return;
    if (!(await this.#prepare())) return;
    const tmp = join(this.dir, `.tmp-${id.slice(0, 16)}-${randomBytes(6).toString("hex")}`);
    try {
      await writeFile(tmp, bytes, { mode: 0o600 });
      await rename(tmp, join(this.dir, id));
      this.stats.writes++;
    } catch {
      this.stats.errors++;
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  /**
   * Removes every entry (and stale temporary file) whose ID is not in `live`, the complete
   * listing of the repository's objects of this kind: superseded, forgotten or deleted
   * objects leave the cache.
   */
  async retain(live: ReadonlySet<string>): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (errCode(err) !== "ENOENT") this.stats.errors++;
      return;
    }
    for (const name of names) {
      if (live.has(name)) continue;
      // A temporary file may belong to a concurrent process: only remove old-looking ones.
      if (name.startsWith(".tmp-") && !(await isStaleTemp(join(this.dir, name)))) continue;
      try {
        await rm(join(this.dir, name), { force: true });
        this.stats.dropped++;
      } catch {
        this.stats.errors++;
      }
    }
  }
}
