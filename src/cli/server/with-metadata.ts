import { join } from "node:path";
import { systemClock } from "../../core/system.ts";
import type { ServerConfig } from "../../server/config.ts";
import { MasterKey } from "../../server/master-key.ts";
import { Metadata } from "../../server/metadata.ts";
import { prepareDataDir } from "../../server/server.ts";
import { LocalStorage } from "../../storage/local.ts";

/** Opens the data directory's metadata and object storage for a CLI command. */
export async function withServerData<T>(
  cfg: ServerConfig,
  fn: (m: Metadata, storage: LocalStorage) => Promise<T>,
): Promise<T> {
  prepareDataDir(cfg.dataDir);
  const m = await Metadata.openSqlite(
    cfg.dataDir,
    MasterKey.loadOrCreate(cfg.dataDir),
    systemClock.now(),
  );
  try {
    return await fn(m, new LocalStorage(join(cfg.dataDir, "objects")));
  } finally {
    await m.close();
  }
}
