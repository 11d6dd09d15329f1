import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

/** Counters of one cache kind (for `--verbose` output, benchmarks and tests). */
export interface CacheStats {
  /** Objects read from the cache. */
  hits: number;
  /** Objects that had to be fetched from the repository. */
  misses: number;
  /** Entries written. */
  writes: number;
  /** Entries dropped: damaged, no longer in the repository, or evicted. */
  dropped: number;
  /** Cache I/O failures (the cache is then bypassed; the operation goes on). */
  errors: number;
}

/** Fresh zeroed {@link CacheStats}. */
export const emptyCacheStats = (): CacheStats => ({
  hits: 0,
  misses: 0,
  writes: 0,
  dropped: 0,
  errors: 0,
});

/** A repository ID as it may appear as a cache directory name. */
export const REPO_ID = /^[0-9a-f]{16,128}$/;
/** An object ID (SHA-256 of its stored bytes, hex). */
export const OBJECT_ID = /^[0-9a-f]{64}$/;

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
 * Creates `dir` (mode 0700, with parents) and the base's `CACHEDIR.TAG` when missing.
 * @throws the file system error (callers count it and bypass the cache).
 */
export async function makeCacheDir(base: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(base, "CACHEDIR.TAG"), CACHEDIR_TAG, { flag: "wx" }).catch(
    (err: unknown) => {
      if ((err as { code?: unknown }).code !== "EEXIST") throw err;
    },
  );
}

/** The `code` of a Node.js system error, if any. */
export const errCode = (err: unknown): unknown => (err as { code?: unknown }).code;

/**
 * True for a temporary cache file untouched for an hour: its writer is gone (a live writer
 * renames it within moments), so it may be removed.
 */
export async function isStaleTemp(path: string): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > 3_600_000;
  } catch {
    return false;
  }
}

/** True when `bytes` hash (SHA-256, hex) to `id`: the entry is what its name says. */
export const hashesTo = (bytes: Uint8Array, id: string): boolean =>
  createHash("sha256").update(bytes).digest("hex") === id;

/**
 * One cache directory `<base>/<repo id>/<sub>` of entries named by object ID: what
 * `ObjectCache` and `TreePackCache` share (creation, atomic writes, listing, retain). I/O
 * failures are counted in {@link stats}, never thrown.
 */
export class CacheDir<Sub extends string = string> {
  /** Directory of the entries. */
  readonly dir: string;
  readonly stats: CacheStats = emptyCacheStats();
  readonly #base: string;
  #ready: Promise<boolean> | undefined;

  /**
   * @param base the base cache directory (see {@link defaultCacheDir}).
   * @param repoId the repository ID (from its config).
   * @param sub the subdirectory of this kind of entries.
   * @throws Error when `repoId` is not a hex ID (it becomes a path component).
   */
  constructor(base: string, repoId: string, sub: Sub) {
    if (!REPO_ID.test(repoId)) throw new Error(`Invalid repository ID for the cache: ${repoId}`);
    this.#base = base;
    this.dir = join(base, repoId, sub);
  }

  /** Creates the directory (and the base's `CACHEDIR.TAG`) once; false when that failed. */
  protected prepare(): Promise<boolean> {
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
   * Writes entry `id` to a temporary name and renames it, so a reader never sees half an
   * entry. False (counted, temporary file removed) when that failed.
   */
  protected async write(id: string, bytes: Uint8Array): Promise<boolean> {
    const tmp = join(this.dir, `.tmp-${id.slice(0, 16)}-${randomBytes(6).toString("hex")}`);
    try {
      await writeFile(tmp, bytes, { mode: 0o600 });
      await rename(tmp, join(this.dir, id));
      this.stats.writes++;
      return true;
    } catch {
      this.stats.errors++;
      await rm(tmp, { force: true }).catch(() => undefined);
      return false;
    }
  }

  /** Removes entry (or temporary file) `name`, counted as dropped. */
  protected async remove(name: string): Promise<void> {
    try {
      await rm(join(this.dir, name), { force: true });
      this.stats.dropped++;
    } catch {
      this.stats.errors++;
    }
  }

  /** Every name in the directory; none when it does not exist. */
  protected async names(): Promise<string[]> {
    try {
      return await readdir(this.dir);
    } catch (err) {
      if (errCode(err) !== "ENOENT") this.stats.errors++;
      return [];
    }
  }

  /**
   * Removes every entry (and stale temporary file) whose ID is not in `live`, the complete
   * set of the repository's objects of this kind: objects gone from it leave the cache.
   */
  async retain(live: ReadonlySet<string>): Promise<void> {
    for (const name of await this.names()) {
      if (live.has(name)) continue;
      // A temporary file may belong to a concurrent process: only remove old-looking ones.
      if (name.startsWith(".tmp-") && !(await isStaleTemp(join(this.dir, name)))) continue;
      await this.remove(name);
    }
  }
}
