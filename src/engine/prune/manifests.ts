import { encodeManifest } from "../../format/manifest.ts";
import type { Snapshot } from "../../format/snapshot.ts";
import type { StoredManifest } from "./forget.ts";
import { snapshotPacks, type TreeRefs } from "./usage.ts";
import type { Repository } from "../repository/index.ts";

/** One snapshot whose manifest a prune recomputes. */
export interface ManifestJob {
  id: string;
  snapshot: Snapshot;
  /** Keys of its current manifests (to delete once the new one is written). */
  old: string[];
}

/**
 * The snapshots whose manifests must be recomputed before `removed` packs go: those with no
 * manifest, with several, or with one naming a removed pack or a pack not stored. The others
 * stay valid (every pack they name exists and holds the blobs).
 */
export function manifestJobs(
  snapshots: ReadonlyMap<string, Snapshot>,
  manifests: ReadonlyMap<string, StoredManifest[]>,
  removed: ReadonlySet<string>,
  stored: ReadonlySet<string>,
): ManifestJob[] {
  const out: ManifestJob[] = [];
  for (const [id, snapshot] of snapshots) {
    const list = manifests.get(id) ?? [];
    const first = list[0];
    if (
      list.length !== 1 ||
      first === undefined ||
      first.packs.some((p) => removed.has(p) || !stored.has(p))
    )
      out.push({ id, snapshot, old: list.map((m) => m.key) });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/**
 * Writes one exact manifest per job (same host, tags, time and stats as the snapshot; the
 * packs recomputed from its trees with `packOf`), then deletes the job's old manifests.
 * New before old, so a crash leaves a snapshot with two manifests, never with none.
 * Returns the number of manifests written.
 */
export async function rewriteManifests(
  repo: Repository,
  jobs: readonly ManifestJob[],
  trees: ReadonlyMap<string, TreeRefs>,
  packOf: (type: "data" | "tree", id: string) => string | undefined,
): Promise<number> {
  for (const j of jobs) {
    const m = encodeManifest({
      v: 1,
      snapshot: j.id,
      host: j.snapshot.host,
      tags: j.snapshot.tags,
      time: j.snapshot.time,
      stats: j.snapshot.stats,
      packs: snapshotPacks(j.snapshot.tree, trees, packOf),
    });
    const key = `manifests/${m.id}`;
    await repo.storage.putIfAbsent(key, m.bytes);
    for (const k of j.old) if (k !== key) await repo.storage.delete(k);
  }
  return jobs.length;
}
