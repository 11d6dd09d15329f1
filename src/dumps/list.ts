import { listSnapshots } from "../engine/browse/index.ts";
import type { Repository } from "../engine/repository/index.ts";
import { parseDbTag, type DbType } from "./types.ts";

/** One database dump snapshot. */
export interface DbSnapshotEntry {
  id: string;
  time: string;
  host: string;
  size: number;
  tool?: string;
  serverVersion?: string;
}

/** Dump snapshots of one database, oldest first. */
export interface DbSnapshotGroup {
  type: DbType;
  database: string;
  snapshots: DbSnapshotEntry[];
}

/** Lists the repository's database dump snapshots grouped by engine and database. */
export async function listDbSnapshots(
  repo: Repository,
  filter: { type?: DbType; database?: string } = {},
): Promise<DbSnapshotGroup[]> {
  const groups = new Map<string, DbSnapshotGroup>();
  for (const { id, snapshot } of await listSnapshots(repo)) {
    for (const tag of snapshot.tags) {
      const t = parseDbTag(tag);
      if (t === undefined) continue;
      if (filter.type !== undefined && t.type !== filter.type) continue;
      if (filter.database !== undefined && t.name !== filter.database) continue;
      const key = `${t.type}\0${t.name}`;
      let g = groups.get(key);
      if (g === undefined) {
        g = { type: t.type, database: t.name, snapshots: [] };
        groups.set(key, g);
      }
      const m = snapshot.meta ?? {};
      g.snapshots.push({
        id,
        time: snapshot.time,
        host: snapshot.host,
        size: snapshot.stats.bytes,
        ...(m["db.tool"] !== undefined
          ? { tool: toolLabel(m["db.tool"], m["db.tool_version"]) }
          : {}),
        ...(m["db.server_version"] !== undefined ? { serverVersion: m["db.server_version"] } : {}),
      });
    }
  }
  return [...groups.values()].sort((a, b) => (a.type + a.database < b.type + b.database ? -1 : 1));
}

function toolLabel(tool: string, version: string | undefined): string {
  if (version === undefined) return tool;
  return version.startsWith(tool) ? version : `${tool} (${version})`;
}
