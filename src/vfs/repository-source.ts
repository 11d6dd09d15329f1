import { setTimeout as sleepMs } from "node:timers/promises";
import { isCofferError } from "../core/errors.ts";
import { listSnapshots, type SnapshotFilter } from "../engine/browse/index.ts";
import type { Repository } from "../engine/repository/index.ts";
import type { VfsSource } from "./browse-tree.ts";

/** Waits before each further attempt of a read that failed on the network (15.5 s in all). */
export const NETWORK_RETRY_DELAYS_MS: readonly number[] = [500, 1000, 2000, 4000, 8000];

/**
 * Runs `read`, again after each of `delays` while it fails with a NETWORK error (the storage
 * layer's own retries gave up: a gateway restarting, a link down for seconds). A mount is
 * long-lived; a reader waiting a few seconds beats an EIO.
 */
export async function patiently<T>(
  read: () => Promise<T>,
  delays: readonly number[] = NETWORK_RETRY_DELAYS_MS,
  sleep: (ms: number) => Promise<unknown> = sleepMs,
): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await read();
    } catch (err) {
      const delay = delays[i];
      if (!isCofferError(err, "NETWORK") || delay === undefined) throw err;
      await sleep(delay);
    }
  }
}

/**
 * A {@link VfsSource} over an open repository showing the snapshots that match `filter`.
 * The index is (re)loaded whenever the set of snapshot objects changed since the last
 * listing, so blobs of new snapshots can be read. Tree and blob reads that fail on the
 * network are retried ({@link patiently}).
 */
export function repositorySource(repo: Repository, filter: SnapshotFilter = {}): VfsSource {
  let seen: string | undefined;
  return {
    async listSnapshots() {
      const key = (await repo.listSnapshotIds()).join(",");
      if (key !== seen || !repo.indexLoaded) {
        await repo.loadIndex();
        seen = key;
      }
      return listSnapshots(repo, filter);
    },
    loadTree: (id) => patiently(() => repo.loadTree(id)),
    loadBlob: (id) => patiently(() => repo.loadBlob("data", id)),
    blobSize: (id) => repo.locate("data", id)?.rawLength,
  };
}
