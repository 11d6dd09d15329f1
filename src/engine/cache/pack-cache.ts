import { open, readFile, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import { CacheDir, OBJECT_ID, errCode, hashesTo } from "./cache-dir.ts";

/**
 * Default bound of one repository's cached tree packs (bytes). Tree packs hold directory
 * listings only (a few hundred bytes per file, compressed), so a million-file host needs
 * well under this; beyond it the least recently used packs are evicted.
 */
export const DEFAULT_TREE_PACK_CACHE_BYTES = 1024 * 1024 * 1024;

/**
 * A local cache of a repository's tree packs (packs whose blobs are trees; data packs are
 * never cached) under `<base>/<repo id>/packs/<pack id>`, as restic caches its tree packs.
 * A pack is stored whole, only when its bytes hash to its name (pack IDs are the SHA-256 of
 * the stored bytes). Reads are not hashed: every blob read from an entry is authenticated
 * and its ID checked by the reader, which calls {@link drop} when that fails. The total is
 * bounded by `maxBytes`: after a write, the least recently used entries (file mtime, touched
 * on first use in a process) go. The cache is an optimisation only: I/O failures are counted,
 * never thrown, and after a failed write {@link usable} turns false (callers then read ranges).
 */
export class TreePackCache extends CacheDir<"packs"> {
  #broken = false;
  readonly #inflight = new Map<string, Promise<Uint8Array>>();
  readonly #touched = new Set<string>();

  /**
   * @param base the base cache directory (see `defaultCacheDir`).
   * @param repoId the repository ID (from its config).
   * @param maxBytes bound of the cached packs' total size.
   * @throws Error when `repoId` is not a hex ID (it becomes a path component).
   */
  constructor(
    base: string,
    repoId: string,
    readonly maxBytes = DEFAULT_TREE_PACK_CACHE_BYTES,
  ) {
    super(base, repoId, "packs");
  }

  /** True while new packs can be cached (the directory exists, no write failed). */
  async usable(): Promise<boolean> {
    return !this.#broken && (await this.prepare());
  }

  /**
   * `length` bytes at `offset` of cached pack `id`; undefined when it is not cached (or the
   * entry is too short, which drops it).
   */
  async read(id: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    if (!OBJECT_ID.test(id)) return undefined;
    const path = join(this.dir, id);
    let got: Buffer | undefined;
    try {
      const fh = await open(path, "r");
      try {
        const buf = Buffer.allocUnsafe(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        got = bytesRead === length ? buf : undefined;
      } finally {
        await fh.close();
      }
    } catch (err) {
      if (errCode(err) !== "ENOENT") this.stats.errors++;
      this.stats.misses++;
      return undefined;
    }
    if (got === undefined) {
      this.stats.misses++;
      await this.drop(id);
      return undefined;
    }
    this.stats.hits++;
    await this.#touch(id);
    return got;
  }

  /** The whole cached pack `id` (not hashed: see the class notes); undefined when not cached. */
  async readAll(id: string): Promise<Uint8Array | undefined> {
    if (!OBJECT_ID.test(id)) return undefined;
    try {
      const bytes = await readFile(join(this.dir, id));
      this.stats.hits++;
      await this.#touch(id);
      return bytes;
    } catch (err) {
      if (errCode(err) !== "ENOENT") this.stats.errors++;
      this.stats.misses++;
      return undefined;
    }
  }

  /**
   * Fetches pack `id` whole with `get` (once, however many callers wait for it) and stores it
   * (see {@link put}). Errors of `get` are the caller's.
   */
  fetch(id: string, get: () => Promise<Uint8Array>): Promise<Uint8Array> {
    let p = this.#inflight.get(id);
    if (p === undefined) {
      p = (async () => {
        try {
          const bytes = await get();
          await this.put(id, bytes);
          return bytes;
        } finally {
          this.#inflight.delete(id);
        }
      })();
      this.#inflight.set(id, p);
    }
    return p;
  }

  /**
   * Stores pack `id` when its bytes hash to `id` and fit the bound, through a temporary file
   * and a rename; then evicts least recently used packs beyond `maxBytes`. True when stored.
   */
  async put(id: string, bytes: Uint8Array): Promise<boolean> {
    if (!OBJECT_ID.test(id) || bytes.length > this.maxBytes) return false;
    if (!hashesTo(bytes, id)) return false;
    if (!(await this.usable())) return false;
    if (!(await this.write(id, bytes))) {
      this.#broken = true;
      return false;
    }
    this.#touched.add(id);
    await this.#evict(id);
    return true;
  }

  /** Removes entry `id` (damaged: a blob in it failed authentication). */
  async drop(id: string): Promise<void> {
    if (OBJECT_ID.test(id)) await this.remove(id);
  }

  /** Marks `id` used now (once per process): eviction goes by mtime. */
  async #touch(id: string): Promise<void> {
    if (this.#touched.has(id)) return;
    this.#touched.add(id);
    const now = new Date();
    await utimes(join(this.dir, id), now, now).catch(() => undefined);
  }

  /** Evicts the least recently used entries (never `keep`) until the total fits `maxBytes`. */
  async #evict(keep: string): Promise<void> {
    const entries: { name: string; size: number; mtimeMs: number }[] = [];
    for (const name of await this.names()) {
      if (!OBJECT_ID.test(name)) continue;
      const s = await stat(join(this.dir, name)).catch(() => undefined);
      if (s !== undefined) entries.push({ name, size: s.size, mtimeMs: s.mtimeMs });
    }
    let total = entries.reduce((n, e) => n + e.size, 0);
    entries.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      if (e.name === keep) continue;
      await this.drop(e.name);
      total -= e.size;
    }
  }
}
