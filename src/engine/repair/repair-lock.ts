import { withPruneLock } from "../prune/index.ts";
import type { Repository } from "../repository/index.ts";

/**
 * Runs a repair under the repository's prune lock (docs/format.md "Locks"), so that no prune
 * deletes packs or rewrites index objects meanwhile; a dry run writes nothing and takes none.
 * Backups take no lock: a repair never removes what a concurrent backup wrote. The local
 * cache is bypassed meanwhile: a repair must see what is stored (an intact cached copy of a
 * damaged object would hide the damage that `check`, which reads storage, reports).
 */
export async function withRepairLock<T>(
  repo: Repository,
  dryRun: boolean,
  log: (message: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  const cache = repo.cache;
  repo.cache = undefined;
  try {
    if (dryRun) return await fn();
    return await withPruneLock(
      repo.storage,
      { clock: repo.clock, random: repo.random, onEvent: log },
      async () => fn(),
    );
  } finally {
    repo.cache = cache;
  }
}
