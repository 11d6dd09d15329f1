import { CofferError } from "../core/errors.ts";
import { clampRange, validateKey, validatePrefix, validateRange } from "./keys.ts";
import type { ByteRange, ObjectInfo, PutResult, Storage } from "./storage.ts";

/** Runs `fn` so that a synchronous throw becomes a rejected promise. */
function settle<T>(fn: () => T): Promise<T> {
  return new Promise<T>((resolve) => {
    resolve(fn());
  });
}

/**
 * An in-memory {@link Storage} for tests and simulations. Objects are copied on the way in
 * and out, so callers can never alias stored bytes. Single-threaded JavaScript makes
 * `putIfAbsent` atomic for free.
 */
export class MemoryStorage implements Storage {
  readonly location: string;
  readonly #objects = new Map<string, Uint8Array>();

  constructor(name = "memory") {
    this.location = `memory:${name}`;
  }

  /** Number of stored objects; a test convenience. */
  get size(): number {
    return this.#objects.size;
  }

  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return settle(() => {
      validateKey(key);
      if (range !== undefined) validateRange(key, range);
      const body = this.#objects.get(key);
      if (body === undefined) throw new CofferError("NOT_FOUND", `Cannot read ${key}: not found`);
      if (range === undefined) return body.slice();
      const { start, end } = clampRange(range, body.length);
      return body.slice(start, end);
    });
  }

  putIfAbsent(key: string, body: Uint8Array): Promise<PutResult> {
    return settle(() => {
      validateKey(key);
      if (this.#objects.has(key)) return "exists";
      this.#objects.set(key, new Uint8Array(body));
      return "created";
    });
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return settle(() => {
      validateKey(key);
      const body = this.#objects.get(key);
      return body === undefined ? undefined : { key, size: body.length };
    });
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    // Collect first so that writes during iteration cannot disturb it.
    const found: ObjectInfo[] = [];
    for (const [key, body] of this.#objects) {
      if (key.startsWith(prefix)) found.push({ key, size: body.length });
    }
    for (const info of found) {
      await Promise.resolve();
      yield info;
    }
  }

  delete(key: string): Promise<void> {
    return settle(() => {
      validateKey(key);
      this.#objects.delete(key);
    });
  }
}
