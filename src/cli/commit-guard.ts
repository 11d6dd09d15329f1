import { CofferError } from "../core/errors.ts";
import type { Storage } from "../storage/storage.ts";

/**
 * Wraps `storage` so that once `signal` is aborted (SIGINT/SIGTERM) no snapshot object is
 * written any more: the snapshot is the commit point (packs → index → snapshot → manifest),
 * so an interrupted backup commits nothing, whatever stage the engine had reached. Packs and
 * indexes written before that stay unreferenced (`check` passes; `prune` removes them).
 * Every other call goes to `storage` unchanged.
 */
export function guardCommit(storage: Storage, signal: AbortSignal): Storage {
  return new Proxy(storage, {
    get(target, prop) {
      if (prop === "putIfAbsent") {
        return (key: string, body: Uint8Array) => {
          if (signal.aborted && key.startsWith("snapshots/")) {
            return Promise.reject(
              new CofferError("INTERRUPTED", "Backup interrupted: nothing was committed"),
            );
          }
          return target.putIfAbsent(key, body);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function"
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}
