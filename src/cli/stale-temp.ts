import type { Storage } from "../storage/storage.ts";
import type { CliContext } from "./context.ts";

/**
 * Before a backup writes: removes the temp files a killed backup or prune left under a local
 * repository's `tmp/` (never a live writer's; see LocalStorage.cleanupTemp and docs/format.md
 * "Temp files"), and says how many on stderr (silent with `-q`).
 */
export async function removeStaleTemp(ctx: CliContext, storage: Storage): Promise<void> {
  const n = (await storage.cleanupTemp?.()) ?? 0;
  if (n > 0)
    ctx.out.info(
      `removed ${String(n)} stale temp file${n === 1 ? "" : "s"} left by an interrupted run`,
    );
}
