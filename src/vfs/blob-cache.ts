/**
 * A least-recently-used cache of decoded blobs bounded by total bytes. Concurrent requests
 * for the same blob share one load; failed loads are not cached (a retry loads again).
 */
export class BlobCache {
  readonly #entries = new Map<string, Uint8Array>();
  readonly #loading = new Map<string, Promise<Uint8Array>>();
  #bytes = 0;
  /** Loads that went to the source (for tests and measurements). */
  loads = 0;

  /** @param maxBytes upper bound on the bytes held (a blob larger than it is not kept). */
  constructor(readonly maxBytes: number) {}

  /** Bytes currently held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Number of blobs held. */
  get size(): number {
    return this.#entries.size;
  }

  /** True when the blob is held (does not change its recency). */
  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /** The blob from the cache, else from `load` (then kept, evicting the least recently used). */
  async get(id: string, load: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const hit = this.#entries.get(id);
    if (hit !== undefined) {
      this.#entries.delete(id);
      this.#entries.set(id, hit);
      return hit;
    }
    const pending = this.#loading.get(id);
    if (pending !== undefined) return pending;
    this.loads++;
    const p = load().then(
      (bytes) => {
        this.#loading.delete(id);
        this.#put(id, bytes);
        return bytes;
      },
      (err: unknown) => {
        this.#loading.delete(id);
        throw err;
      },
    );
    this.#loading.set(id, p);
    return p;
  }

  /** Drops every blob. */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  #put(id: string, bytes: Uint8Array): void {
    if (bytes.length > this.maxBytes || this.#entries.has(id)) return;
    this.#entries.set(id, bytes);
    this.#bytes += bytes.length;
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= v.length;
    }
  }
}
