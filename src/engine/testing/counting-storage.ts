import { MemoryStorage } from "../../storage/memory.ts";
import type { ByteRange } from "../../storage/storage.ts";

/** Memory storage that records every GET (key, and whether it was a range) for cache tests. */
export class CountingStorage extends MemoryStorage {
  readonly gets: { key: string; range: boolean }[] = [];

  override get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.gets.push({ key, range: range !== undefined });
    return super.get(key, range);
  }

  /** GETs of keys under `prefix` since the last {@link reset}. */
  count(prefix: string): number {
    return this.gets.filter((g) => g.key.startsWith(prefix)).length;
  }

  /** Forgets the recorded GETs. */
  reset(): void {
    this.gets.length = 0;
  }
}
