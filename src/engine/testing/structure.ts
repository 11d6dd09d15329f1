import { parseManifest } from "../../format/manifest.ts";
import { packKey } from "../../format/pack.ts";
import { collect } from "../../core/parallel.ts";
import type { Repository } from "../repository/index.ts";

/**
 * Every pack a snapshot's whole tree references, found by walking its trees through the
 * index (each tree and data blob is resolved; tree blobs are loaded and verified).
 */
export async function referencedPacks(repo: Repository, snapshotId: string): Promise<Set<string>> {
  await repo.loadIndex();
  const snap = await repo.loadSnapshot(snapshotId);
  const packs = new Set<string>();
  const seen = new Set<string>();
  const visit = async (treeId: string): Promise<void> => {
    if (seen.has(treeId)) return;
    seen.add(treeId);
    const loc = repo.locate("tree", treeId);
    if (loc === undefined) throw new Error(`tree ${treeId} not indexed`);
    packs.add(loc.packId);
    for (const n of await repo.loadTree(treeId)) {
      for (const id of n.content ?? []) {
        const l = repo.locate("data", id);
        if (l === undefined) throw new Error(`data blob ${id} not indexed`);
        packs.add(l.packId);
      }
      if (n.subtree !== undefined) await visit(n.subtree);
    }
  };
  await visit(snap.tree);
  return packs;
}

/**
 * A structural check of a repository (used until/besides the read side's `check`): every
 * snapshot's trees and blobs are indexed, every indexed pack exists with the indexed size,
 * and every manifest names a snapshot and exactly the packs its tree references.
 * Returns a list of problems (empty when sound).
 */
export async function structuralProblems(repo: Repository): Promise<string[]> {
  const problems: string[] = [];
  await repo.loadIndex();
  const stored = new Map((await collect(repo.storage.list("data/"))).map((o) => [o.key, o.size]));
  for (const p of repo.packs.values()) {
    const size = stored.get(packKey(p.id));
    if (size !== p.size)
      problems.push(`pack ${p.id}: indexed size ${p.size}, stored ${String(size)}`);
  }
  const snaps = new Set(await repo.listSnapshotIds());
  const manifested = new Set<string>();
  for (const m of await collect(repo.storage.list("manifests/"))) {
    const man = parseManifest(await repo.storage.get(m.key));
    manifested.add(man.snapshot);
    if (!snaps.has(man.snapshot)) {
      problems.push(`manifest ${m.key} names missing snapshot ${man.snapshot}`);
      continue;
    }
    try {
      const want = [...(await referencedPacks(repo, man.snapshot))].sort();
      if (JSON.stringify(want) !== JSON.stringify(man.packs))
        problems.push(`manifest ${m.key}: packs differ from the tree's`);
    } catch (err) {
      problems.push(`snapshot ${man.snapshot}: ${String(err)}`);
    }
  }
  for (const s of snaps) {
    if (manifested.has(s)) continue;
    // A snapshot without a manifest is allowed only transiently (crash between the two).
    try {
      await referencedPacks(repo, s);
    } catch (err) {
      problems.push(`snapshot ${s}: ${String(err)}`);
    }
  }
  return problems;
}
