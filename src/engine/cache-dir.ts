import { mkdir, stat, writeFile } from "node:fs/promises";
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
