import { listSnapshots, type SnapshotFilter } from "../engine/find-snapshot.ts";
import type { Repository } from "../engine/repository.ts";
import type { VfsSource } from "./browse-tree.ts";

/**
 * A {@link VfsSource} over an open repository showing the snapshots that match `filter`.
 * The index is (re)loaded whenever the set of snapshot objects changed since the last
 * listing, so blobs of new snapshots can be read.
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
    loadTree: (id) => repo.loadTree(id),
    loadBlob: (id) => repo.loadBlob("data", id),
    blobSize: (id) => repo.locate("data", id)?.rawLength,
  };
}
