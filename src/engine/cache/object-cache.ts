import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { CacheDir, OBJECT_ID, errCode, hashesTo } from "./cache-dir.ts";

/** The small immutable object kinds cached whole and verified on every read. */
export type CachedObjectKind = "index" | "snapshots";

/**
 * A local cache of one kind of a repository's small immutable objects (index objects,
 * snapshots) under `<base>/<repo id>/<kind>/<object id>`. These objects are named by the
 * SHA-256 of their bytes, so an entry is valid exactly when its bytes hash to its name: every
 * read is verified, and a damaged entry is dropped (the caller fetches the object again).
 * Entries hold the stored (encrypted) bytes, as in the repository. The cache is an
 * optimisation only: any I/O failure bypasses it and is counted, never thrown.
 * {@link retain} removes entries no longer in the repository. Constructed as
 * `new ObjectCache(base, repoId, kind)` (see {@link CacheDir}), `kind` being the
 * repository's key prefix.
 */
export class ObjectCache extends CacheDir<CachedObjectKind> {
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
    if (!hashesTo(bytes, id)) {
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
    if (!OBJECT_ID.test(id) || !hashesTo(bytes, id)) return;
    if (await this.prepare()) await this.write(id, bytes);
  }
}
