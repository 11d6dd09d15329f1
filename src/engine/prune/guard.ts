import { CofferError, isCofferError } from "../../core/errors.ts";
import { shortId } from "../../format/ids.ts";
import { mapLimit } from "../../core/parallel.ts";
import type { PruneIndexes } from "./indexes.ts";
import type { Repository } from "../repository/index.ts";

/** The reason part of `Cannot open index 3fa1c2d4: authentication failed`. */
const reason = (message: string): string => message.replace(/^Cannot open [a-z]+ [0-9a-f?]+: /, "");

/** The one-line refusal of an operation that needs every index object. */
export function damagedIndexError(what: string, d: { id: string; message: string }): CofferError {
  return new CofferError(
    "CORRUPT",
    `Cannot ${what}: index ${shortId(d.id)} is damaged (${reason(d.message)}); run coffer repair index first`,
  );
}

/**
 * Refuses to prune a repository with an unreadable index object or snapshot (restic does
 * the same): packs that only a damaged index names would look unindexed, and blobs that
 * only a damaged snapshot uses would look unused, so the prune would delete live data.
 * Index objects go through `indexes` (each decoded once per prune); a damaged one that a
 * readable index supersedes (after `coffer repair index`) is harmless.
 * @throws CofferError CORRUPT naming the object and the repair command to run.
 */
export async function assertPrunable(
  repo: Repository,
  indexes: PruneIndexes,
  indexIds: readonly string[],
): Promise<void> {
  const bad = (await indexes.damaged(indexIds))[0];
  if (bad !== undefined) throw damagedIndexError("prune", bad);
  const ids = await repo.listSnapshotIds();
  await mapLimit(ids, 8, async (id) => {
    try {
      await repo.loadSnapshot(id);
    } catch (err) {
      if (isCofferError(err, "SNAPSHOT_NOT_FOUND")) return;
      if (!isCofferError(err, "CORRUPT")) throw err;
      throw new CofferError(
        "CORRUPT",
        `Cannot prune: snapshot ${shortId(id)} is damaged (${reason(err.message)}); run coffer repair snapshots --forget first`,
        { cause: err },
      );
    }
  });
}
