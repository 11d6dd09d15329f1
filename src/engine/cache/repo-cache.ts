import { utimes } from "node:fs/promises";
import { join } from "node:path";
import { type CacheStats, REPO_ID } from "./cache-dir.ts";
import { ObjectCache } from "./object-cache.ts";
import { DEFAULT_TREE_PACK_CACHE_BYTES, TreePackCache } from "./pack-cache.ts";

/** Options of a {@link RepoCache}. */
export interface RepoCacheOptions {
  /** Bound of the cached tree packs (default {@link DEFAULT_TREE_PACK_CACHE_BYTES}). */
  maxTreePackBytes?: number;
}

/**
 * The local cache of one remote repository, `<base>/<repo id>/` (ADR 0012), as restic's:
 * `index/` (index objects), `snapshots/` (snapshot objects), `packs/` (tree packs). Every
 * entry holds stored (encrypted) bytes; deleting the directory is always safe.
 */
export class RepoCache {
  /** `<base>/<repo id>`. */
  readonly dir: string;
  readonly index: ObjectCache;
  readonly snapshots: ObjectCache;
  readonly packs: TreePackCache;

  /**
   * @param base the base cache directory (see `defaultCacheDir`).
   * @param repoId the repository ID (from its config).
   * @throws Error when `repoId` is not a hex ID (it becomes a path component).
   */
  constructor(base: string, repoId: string, o: RepoCacheOptions = {}) {
    if (!REPO_ID.test(repoId)) throw new Error(`Invalid repository ID for the cache: ${repoId}`);
    this.dir = join(base, repoId);
    this.index = new ObjectCache(base, repoId, "index");
    this.snapshots = new ObjectCache(base, repoId, "snapshots");
    this.packs = new TreePackCache(
      base,
      repoId,
      o.maxTreePackBytes ?? DEFAULT_TREE_PACK_CACHE_BYTES,
    );
  }

  /**
   * Marks the cache as used now (its directory's mtime, as restic does), so a cleanup of
   * unused caches keeps it. Nothing happens when it does not exist yet; never throws.
   */
  async touch(): Promise<void> {
    const now = new Date();
    await utimes(this.dir, now, now).catch(() => undefined);
  }

  /** The counters of each cached kind. */
  get stats(): { index: CacheStats; snapshots: CacheStats; packs: CacheStats } {
    return { index: this.index.stats, snapshots: this.snapshots.stats, packs: this.packs.stats };
  }
}
