import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

/** Counters of one {@link IndexCache} (for `--verbose` output and tests). */
export interface IndexCacheStats {
  /** Index objects read from the cache (bytes verified). */
  hits: number;
  /** Index objects that had to be fetched from the repository. */
  misses: number;
  /** Entries written. */
  writes: number;
  /** Entries dropped: damaged (hash mismatch) or no longer in the repository. */
  dropped: number;
  /** Cache I/O failures (the cache is then bypassed; the operation goes on). */
  errors: number;
}

const HEX64 = /^[0-9a-f]{64}$/;
const REPO_ID = /^[0-9a-f]{16,128}$/;

/** `CACHEDIR.TAG` (https://bford.info/cachedir/): backup tools skip the directory. */
const CACHEDIR_TAG =
  "Signature: 8a477f597d28d172789f06886806bc55\n# This file marks the coffer cache directory.\n";

/**
 * The base cache directory: `COFFER_CACHE_DIR`, else `$XDG_CACHE_HOME/coffer`, else
 * `~/.cache/coffer` (restic's `RESTIC_CACHE_DIR` / XDG rule). Undefined without a home.
 */
export function defaultCacheDir(env: Record<string, string | undefined>): string | undefined {
  if (env.COFFER_CACHE_DIR !== undefined && env.COFFER_CACHE_DIR !== "")
    return env.COFFER_CACHE_DIR;
  if (env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME !== "")
    return join(env.XDG_CACHE_HOME, "coffer");
  const home = env.HOME ?? homedir();
  return home === "" ? undefined : join(home, ".cache", "coffer");
}

/**
 * A local cache of a repository's index objects under `<base>/<repo id>/index/<index id>`.
 * Index objects are immutable and named by the SHA-256 of their bytes, so an entry is valid
 * exactly when its bytes hash to its name: every read is verified, and a damaged entry is
 * dropped and fetched again. Entries hold the stored (encrypted) bytes, as in the repository.
 * The cache is an optimisation only: any I/O failure bypasses it and is counted, never thrown.
 */
export class IndexCache {
  /** Directory of this repository's cached index objects. */
  readonly dir: string;
  readonly stats: IndexCacheStats = { hits: 0, misses: 0, writes: 0, dropped: 0, errors: 0 };
  readonly #base: string;
  #ready: Promise<boolean> | undefined;

  /**
   * @param base the base cache directory (see {@link defaultCacheDir}).
   * @param repoId the repository ID (from its config).
   * @throws Error when `repoId` is not a hex ID (it becomes a path component).
   */
  constructor(base: string, repoId: string) {
    if (!REPO_ID.test(repoId)) throw new Error(`Invalid repository ID for the cache: ${repoId}`);
    this.#base = base;
    this.dir = join(base, repoId, "index");
  }

  /** Creates the directory (and the base's `CACHEDIR.TAG`) once; false when that failed. */
  #prepare(): Promise<boolean> {
    this.#ready ??= (async () => {
      try {
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        await writeFile(join(this.#base, "CACHEDIR.TAG"), CACHEDIR_TAG, { flag: "wx" }).catch(
          (err: unknown) => {
            if ((err as { code?: unknown }).code !== "EEXIST") throw err;
          },
        );
        return true;
      } catch {
        this.stats.errors++;
        return false;
      }
    })();
    return this.#ready;
  }

  /**
   * The cached bytes of index object `id`, verified against the name; undefined when not
   * cached, unreadable or damaged (a damaged entry is removed).
   */
  async get(id: string): Promise<Uint8Array | undefined> {
    if (!HEX64.test(id)) return undefined;
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.dir, id));
    } catch (err) {
      if ((err as { code?: unknown }).code !== "ENOENT") this.stats.errors++;
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
   * Stores index object `id` (call it only with bytes that decoded as an index); bytes that
   * do not hash to `id` are not stored. Written to a temporary name and renamed, so a reader never sees half an entry.
   */
  async put(id: string, bytes: Uint8Array): Promise<void> {
    if (!HEX64.test(id) || createHash("sha256").update(bytes).digest("hex") !== id) return;
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
   * listing of the repository's `index/`: superseded or deleted index objects leave the cache.
   */
  async retain(live: ReadonlySet<string>): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as { code?: unknown }).code !== "ENOENT") this.stats.errors++;
      return;
    }
    for (const name of names) {
      if (live.has(name)) continue;
      // A temporary file may belong to a concurrent process: only remove old-looking ones.
      if (name.startsWith(".tmp-") && !(await isStale(join(this.dir, name)))) continue;
      try {
        await rm(join(this.dir, name), { force: true });
        this.stats.dropped++;
      } catch {
        this.stats.errors++;
      }
    }
  }
}

/** True for a temporary file untouched for an hour (its writer is gone). */
async function isStale(path: string): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > 3_600_000;
  } catch {
    return false;
  }
}
