import { join } from "node:path";
import { writeAnchor } from "../../server/audit/anchors.ts";
import { AuditLog } from "../../server/audit/audit-log.ts";
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

/**
 * Opens the data directory's metadata for an admin command that may change state. When the
 * command appended audit entries, the chain head is anchored before it returns: an admin
 * action never waits for the server's next anchor to be protected.
 */
export async function withAdminData<T>(
  cfg: ServerConfig,
  fn: (m: Metadata) => Promise<T>,
): Promise<T> {
  return withServerData(cfg, async (m, storage) => {
    const log = new AuditLog(m.db);
    const before = (await log.head()).seq;
    const r = await fn(m);
    if ((await log.head()).seq > before) await writeAnchor(log, storage, systemClock.now());
    return r;
  });
}
