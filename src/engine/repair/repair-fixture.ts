/**
 * Test fixtures for the repair verbs: damage stored objects, and a storage with a coffer
 * gateway's deletion semantics (a DELETE only files a pending deletion). Test-only.
 */
import { MemoryStorage } from "../../storage/memory.ts";
import type { Storage } from "../../storage/storage.ts";
import { collect } from "../../core/parallel.ts";

/** Flips one bit of stored object `key` at byte `at` (default: the middle). */
export async function flipStoredByte(storage: Storage, key: string, at?: number): Promise<void> {
  const bytes = Buffer.from(await storage.get(key));
  const i = at ?? Math.floor(bytes.length / 2);
  bytes[i] = bytes[i]! ^ 0x01;
  await destroy(storage, key);
  await storage.putIfAbsent(key, bytes);
}

/** Removes object `key` for good (also from a {@link GatewayLikeStorage}: a lost object). */
export async function destroy(storage: Storage, key: string): Promise<void> {
  if (storage instanceof GatewayLikeStorage) await storage.destroy(key);
  else await storage.delete(key);
}

/** The IDs (last key segment) of every object under `prefix`, sorted. */
export async function idsUnder(storage: Storage, prefix: string): Promise<string[]> {
  return (await collect(storage.list(prefix)))
    .map((o) => o.key.slice(o.key.lastIndexOf("/") + 1))
    .sort();
}

/**
 * A memory storage that behaves like a coffer gateway for a client: DELETE of anything but
 * `locks/` only records a pending deletion (the object stays readable and listed), served in
 * `gateway/pending-deletions.json`.
 */
export class GatewayLikeStorage extends MemoryStorage {
  readonly pending = new Set<string>();

  constructor() {
    super("gateway-like");
  }

  override async get(key: string, range?: { offset: number; length: number }): Promise<Uint8Array> {
    if (key === "gateway/pending-deletions.json") {
      const deletions = [...this.pending].map((k, i) => ({
        id: i + 1,
        key: k,
        reason: "user",
        requestedAt: "2026-01-02T00:00:00Z",
        executeAfter: "2026-01-16T00:00:00Z",
      }));
      return Buffer.from(JSON.stringify({ v: 1, legalHold: false, deletions }));
    }
    return super.get(key, range);
  }

  /** Really removes `key` (a lost object, or an executed deletion). */
  async destroy(key: string): Promise<void> {
    this.pending.delete(key);
    await super.delete(key);
  }

  override async delete(key: string): Promise<void> {
    if (key.startsWith("locks/")) return super.delete(key);
    if ((await super.head(key)) !== undefined) this.pending.add(key);
  }
}
