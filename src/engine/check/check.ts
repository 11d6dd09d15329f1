import type { MasterKey } from "../../format/master-key.ts";
import type { Storage } from "../../storage/storage.ts";
import {
  checkConfigAndKeys,
  checkPackHeaders,
  checkPackList,
  pickSubset,
  readPacks,
  type CheckState,
} from "./packs.ts";
import { checkIndexes } from "./indexes.ts";
import type { CheckReport, DamagedPack } from "./report.ts";
import { repairAdvice } from "./advice.ts";
import { checkManifests } from "./manifests.ts";
import { pendingDeletions } from "../prune/index.ts";
import { analyseSnapshots, loadSnapshots, loadTrees } from "./trees.ts";

export type {
  AffectedPath,
  AffectedSnapshot,
  CheckProblem,
  CheckReport,
  CheckSeverity,
  DamagedPack,
  RepairStep,
} from "./report.ts";

/** What check needs from a repository (a `Repository` satisfies it). */
export interface CheckSource {
  readonly storage: Storage;
  readonly master: MasterKey;
}

/** Options for {@link check}. */
export interface CheckOptions {
  /** Download every pack and authenticate every blob. */
  readData?: boolean;
  /** Like readData, for about this fraction (0..1) of the packs, chosen by `seed`. */
  readDataSubset?: number;
  /** Seed of the subset choice (default: a fresh one per run, so runs cover different packs). */
  seed?: string;
  /**
   * Like readData, for part `index` of `of` disjoint parts of the packs (by pack ID), so that
   * runs with index 0, 1, …, of-1 together read every pack exactly once (`1/30` a day reads
   * the whole repository in a month). Wins over readDataSubset.
   */
  readDataPart?: { index: number; of: number };
}

/** The packs of part `index` of `of` (a pack's part is its ID's first 48 bits modulo `of`). */
export function packsOfPart(ids: readonly string[], index: number, of: number): string[] {
  const n = Math.max(1, Math.floor(of));
  const i = ((Math.floor(index) % n) + n) % n;
  return ids.filter((id) => parseInt(id.slice(0, 12), 16) % n === i);
}

/**
 * Verifies a repository and reports, as data, everything wrong with it. It never throws for
 * damage (only for storage that cannot be listed at all).
 *
 * Structure: the config (MAC), key files (parse), every index decodes, every indexed pack
 * exists with the indexed size, every pack header matches the index, every snapshot decodes
 * and its whole tree loads, every referenced blob is indexed, every manifest lists exactly
 * its snapshot's packs. Unreferenced packs are info (normal after an interrupted backup).
 *
 * With `readData` (or a subset): every pack is downloaded, its SHA-256 compared with its name,
 * and every blob decrypted and authenticated; damaged blobs are pinned down individually.
 *
 * Damage is mapped back through the trees: {@link CheckReport.affected} names exactly the
 * snapshots and paths (files, or directories whose listing is lost) that cannot be restored,
 * and each {@link DamagedPack} names the snapshots and files it affects.
 */
export async function check(repo: CheckSource, o: CheckOptions = {}): Promise<CheckReport> {
  const s: CheckState = {
    storage: repo.storage,
    master: repo.master,
    problems: [],
    blobs: new Map(),
    packs: new Map(),
    copies: new Map(),
    damaged: new Map(),
    badBlobs: new Set(),
    stats: { indexes: 0, packsRead: 0, bytesRead: 0 },
  };
  await checkConfigAndKeys(s);
  await checkIndexes(s);
  const unreferencedPacks = await checkPackList(s);

  const all = [...s.packs.keys()].filter((id) => s.gone?.has(id) !== true).sort();
  let toRead: string[] = [];
  if (o.readData === true) toRead = all;
  else if (o.readDataPart !== undefined)
    toRead = packsOfPart(all, o.readDataPart.index, o.readDataPart.of);
  else if (o.readDataSubset !== undefined) {
    const seed = o.seed ?? `${Date.now()}:${Math.random()}`;
    toRead = pickSubset(all, Math.min(1, Math.max(0, o.readDataSubset)), seed);
  }
  const reading = new Set(toRead);
  // Packs read in full get their header checked from the download instead.
  await checkPackHeaders(s, new Set([...reading, ...(s.gone ?? [])]));
  await readPacks(s, toRead);

  const pending = await pendingDeletions(repo.storage); // behind a coffer gateway only
  const forgotten = new Set(
    [...(pending?.keys() ?? [])]
      .filter((k) => k.startsWith("snapshots/"))
      .map((k) => k.slice("snapshots/".length)),
  );
  const trees = await loadSnapshots(s, forgotten);
  await loadTrees(s, trees);
  const { affected, packsOf } = analyseSnapshots(s, trees);
  const needsGone = new Set<string>();
  for (const a of affected)
    for (const f of a.paths)
      for (const p of f.packs) if (s.gone?.has(p) === true) needsGone.add(`${a.id} ${p}`);
  for (const x of [...needsGone].sort()) {
    const [snap = "", pack = ""] = x.split(" ");
    s.problems.push({
      severity: "error",
      object: `snapshot ${snap.slice(0, 8)}`,
      message: `snapshot ${snap.slice(0, 8)} needs pack ${pack.slice(0, 8)}, which the gateway's garbage collection destroyed`,
    });
  }
  await checkManifests(s, trees, packsOf, new Set(pending?.keys() ?? []));

  const damagedPacks: DamagedPack[] = [...s.damaged]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([id, problem]) => {
      const p = s.packs.get(id);
      const blobs = (p?.blobs ?? [])
        .map(([bid]) => bid)
        .filter((bid) => p !== undefined && s.badBlobs.has(`${p.type}:${bid}@${id}`));
      const files: { snapshot: string; path: string }[] = [];
      for (const a of affected)
        for (const f of a.paths)
          if (f.packs.includes(id)) files.push({ snapshot: a.id, path: f.path });
      return { id, problem, blobs, snapshots: [...new Set(files.map((f) => f.snapshot))], files };
    });

  affected.sort((a, b) => (a.id < b.id ? -1 : 1));
  const repairs = repairAdvice({ problems: s.problems, damagedPacks, affected, unreferencedPacks });
  let dataBlobs = 0;
  for (const b of s.blobs.values()) if (b.type === "data") dataBlobs++;
  return {
    ok: !s.problems.some((p) => p.severity === "error"),
    problems: s.problems,
    damagedPacks,
    affected,
    unreferencedPacks,
    repairs,
    stats: {
      indexes: s.stats.indexes,
      packs: s.packs.size,
      snapshots: trees.snapshots.size + trees.unreadable.size,
      trees: trees.trees.size,
      dataBlobs,
      packsRead: s.stats.packsRead,
      bytesRead: s.stats.bytesRead,
    },
  };
}
