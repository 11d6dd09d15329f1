import type { ObjectInfo, ObjectWriter, Storage } from "../../storage/storage.ts";

/**
 * Wraps `storage` so that once `signal` is aborted every further call (and every further item
 * of a listing, and every commit of a writer) rejects with the signal's reason. A prune is
 * crash-safe at every storage step (ADR 0010), so this stops it at the next step as a crash
 * there would, but leaves the process alive to release its lock. `close` is not forwarded: the
 * wrapper never owns `storage`.
 */
export function stoppableStorage(storage: Storage, signal: AbortSignal): Storage {
  const check = (): void => {
    signal.throwIfAborted();
  };
  const stopped: Storage = {
    location: storage.location,
    async get(key, range) {
      check();
      return storage.get(key, range);
    },
    async putIfAbsent(key, body) {
      check();
      return storage.putIfAbsent(key, body);
    },
    async head(key) {
      check();
      return storage.head(key);
    },
    async *list(prefix): AsyncIterable<ObjectInfo> {
      check();
      for await (const o of storage.list(prefix)) {
        check();
        yield o;
      }
    },
    async delete(key) {
      check();
      return storage.delete(key);
    },
  };
  const createWriter = storage.createWriter?.bind(storage);
  if (createWriter !== undefined) {
    stopped.createWriter = async (): Promise<ObjectWriter> => {
      check();
      const w = await createWriter();
      return {
        get size() {
          return w.size;
        },
        async write(parts) {
          check();
          return w.write(parts);
        },
        async commit(key) {
          if (signal.aborted) {
            await w.abort();
            check();
          }
          return w.commit(key);
        },
        abort: () => w.abort(),
      };
    };
  }
  return stopped;
}
