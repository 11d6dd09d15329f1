import { withPruneLock } from "../prune-lock.ts";
import type { Repository } from "../repository.ts";

/**
 * Runs a repair under the repository's prune lock (docs/format.md "Locks"), so that no prune
 * deletes packs or rewrites index objects meanwhile; a dry run writes nothing and takes none.
 * Backups take no lock: a repair never removes what a concurrent backup wrote.
 */
export async function withRepairLock<T>(
  repo: Repository,
  dryRun: boolean,
  log: (message: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  if (dryRun) return fn();
  return withPruneLock(
    repo.storage,
    { clock: repo.clock, random: repo.random, onEvent: log },
    async () => fn(),
  );
}
