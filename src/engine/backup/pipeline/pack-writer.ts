import type { ObjectWriter, PutResult, Storage } from "../../../storage/storage.ts";

/**
 * Starts an object written in pieces: the backend's own streaming writer when it has one
 * (LocalStorage writes a temp file), otherwise a memory fallback that keeps the pieces (no
 * copies) and stores them with one `putIfAbsent` at commit.
 */
export async function openObjectWriter(
  storage: Storage,
): Promise<{ writer: ObjectWriter; streaming: boolean }> {
  if (storage.createWriter !== undefined)
    return { writer: await storage.createWriter(), streaming: true };
  return { writer: new MemoryWriter(storage), streaming: false };
}

class MemoryWriter implements ObjectWriter {
  #parts: Uint8Array[] = [];
  #size = 0;
  #done = false;

  constructor(private readonly storage: Storage) {}

  get size(): number {
    return this.#size;
  }

  write(parts: readonly Uint8Array[]): Promise<void> {
    for (const p of parts) {
      this.#parts.push(p);
      this.#size += p.length;
    }
    return Promise.resolve();
  }

  async commit(key: string): Promise<PutResult> {
    const parts = this.#parts;
    this.#parts = [];
    this.#done = true;
    return this.storage.putIfAbsent(key, Buffer.concat(parts, this.#size));
  }

  abort(): Promise<void> {
    this.#parts = [];
    this.#done = true;
    return Promise.resolve();
  }

  /** True after commit or abort. */
  get finished(): boolean {
    return this.#done;
  }
}
