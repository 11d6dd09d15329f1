import { decodeBlob } from "../../format/blob.ts";
import { objectId, shortId } from "../../format/ids.ts";
import { packKey } from "../../format/pack.ts";
import { decodeSnapshot, type Snapshot } from "../../format/snapshot.ts";
import { decodeTree, type TreeNode } from "../../format/tree.ts";
import type { AffectedPath, AffectedSnapshot } from "./report.ts";
import { copiesOf, lostIn, type CheckState } from "./packs.ts";
import { collect, mapLimit } from "../../core/parallel.ts";
import { displayPath, joinPath, ROOT } from "../repository/index.ts";

const msg = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Packs a snapshot's tree needs: always `required`, and one of each `anyOf` list. */
export interface PackNeeds {
  required: Set<string>;
  anyOf: Map<string, string[]>;
}

/** Snapshots that decoded, and per tree ID its nodes or why it cannot be loaded. */
export interface TreeState {
  snapshots: Map<string, Snapshot>;
  unreadable: Map<string, string>;
  trees: Map<string, TreeNode[] | string>;
}

/**
 * Loads and authenticates every snapshot; damaged ones are errors. Snapshots in `pending`
 * (their deletion is pending at a coffer gateway: forgotten, e.g. by `repair snapshots
 * --forget`) are not checked, only reported as info.
 */
export async function loadSnapshots(
  s: CheckState,
  pending: ReadonlySet<string> = new Set(),
): Promise<TreeState> {
  const listed = (await collect(s.storage.list("snapshots/")))
    .map((o) => o.key.slice("snapshots/".length))
    .sort();
  for (const id of listed.filter((x) => pending.has(x)))
    s.problems.push({
      severity: "info",
      object: `snapshot ${shortId(id)}`,
      message: `snapshot ${shortId(id)} is pending deletion at the gateway: not checked`,
    });
  const ids = listed.filter((x) => !pending.has(x));
  const t: TreeState = { snapshots: new Map(), unreadable: new Map(), trees: new Map() };
  await mapLimit(ids, 4, async (id) => {
    try {
      const bytes = await s.storage.get(`snapshots/${id}`);
      if (objectId(bytes) !== id)
        throw new Error(
          `Cannot open snapshot ${shortId(id)}: checksum mismatch (content does not match its name)`,
        );
      t.snapshots.set(id, decodeSnapshot(s.master, bytes, id));
    } catch (err) {
      t.unreadable.set(id, msg(err));
      s.problems.push({ severity: "error", object: `snapshot ${shortId(id)}`, message: msg(err) });
    }
  });
  return t;
}

async function loadTree(s: CheckState, id: string): Promise<TreeNode[] | string> {
  const key = `tree:${id}`;
  const loc = s.blobs.get(key);
  if (loc === undefined) return `tree ${shortId(id)} is not in any index`;
  let why = "";
  for (const packId of copiesOf(s, key)) {
    if (s.badBlobs.has(`${key}@${packId}`)) {
      why = `tree ${shortId(id)} is in damaged pack ${shortId(packId)}`;
      continue;
    }
    const at = packId === loc.packId ? loc : s.packs.get(packId)?.blobs.find((b) => b[0] === id);
    if (at === undefined) continue;
    const [offset, length, flags, rawLength] = Array.isArray(at)
      ? [at[1], at[2], at[4], at[3]]
      : [at.offset, at.length, at.flags, at.rawLength];
    try {
      const sealed = await s.storage.get(packKey(packId), { offset, length });
      return decodeTree(decodeBlob(s.master, "tree", sealed, flags, id, rawLength), id);
    } catch (err) {
      s.badBlobs.add(`${key}@${packId}`);
      why = `tree ${shortId(id)} in pack ${shortId(packId)}: ${msg(err)}`;
    }
  }
  return why;
}

/** Loads every tree reachable from the snapshots (each tree once), breadth-first. */
export async function loadTrees(s: CheckState, t: TreeState): Promise<void> {
  let level = [...new Set([...t.snapshots.values()].map((x) => x.tree))];
  while (level.length > 0) {
    const fresh = level.filter((id) => !t.trees.has(id));
    for (const id of fresh) t.trees.set(id, "loading");
    const loaded = await mapLimit(fresh, 8, (id) => loadTree(s, id));
    const next = new Set<string>();
    fresh.forEach((id, i) => {
      const nodes = loaded[i]!;
      t.trees.set(id, nodes);
      if (typeof nodes === "string") {
        s.problems.push({
          severity: "error",
          object: `tree ${shortId(id)}`,
          message: `Cannot load ${nodes}`,
        });
        return;
      }
      for (const n of nodes)
        if (n.type === "dir" && n.subtree !== undefined && !t.trees.has(n.subtree))
          next.add(n.subtree);
    });
    level = [...next];
  }
}

/** Why a file cannot be restored, or undefined when all its blobs are indexed and intact. */
function fileProblem(s: CheckState, node: TreeNode, packs?: Set<string>): string | undefined {
  const reasons: string[] = [];
  for (const id of node.content ?? []) {
    const lost = lostIn(s, `data:${id}`);
    if (!s.blobs.has(`data:${id}`)) reasons.push(`blob ${shortId(id)} is not in any index`);
    else if (lost !== undefined) {
      reasons.push(`blob ${shortId(id)} in pack ${lost.map(shortId).join(", ")} is damaged`);
      for (const p of lost) packs?.add(p);
    }
    if (reasons.length >= 3 && packs === undefined) break;
  }
  if (reasons.length > 3) reasons.splice(3, reasons.length - 3, "…");
  return reasons.length === 0 ? undefined : reasons.join("; ");
}

/**
 * For each snapshot: every affected path (files with a missing or damaged blob, directories
 * whose tree cannot be loaded) and the set of packs its whole tree references.
 */
export function analyseSnapshots(
  s: CheckState,
  t: TreeState,
): { affected: AffectedSnapshot[]; packsOf: Map<string, PackNeeds> } {
  const tainted = new Map<string, boolean>();
  const isTainted = (treeId: string): boolean => {
    const memo = tainted.get(treeId);
    if (memo !== undefined) return memo;
    tainted.set(treeId, false); // cycles cannot happen (IDs are content hashes), but be safe
    const nodes = t.trees.get(treeId);
    let bad = typeof nodes !== "object";
    if (typeof nodes === "object") {
      for (const n of nodes) {
        if (
          (n.type === "file" && fileProblem(s, n) !== undefined) ||
          (n.type === "dir" && n.subtree !== undefined && isTainted(n.subtree))
        ) {
          bad = true;
          break;
        }
      }
    }
    tainted.set(treeId, bad);
    return bad;
  };
  // Packs a subtree needs: `required` (blobs stored once) and, for blobs stored in several
  // packs, the candidates (any one of them will do).
  const packMemo = new Map<string, PackNeeds>();
  const need = (out: PackNeeds, key: string): void => {
    const loc = s.blobs.get(key);
    if (loc === undefined) return;
    const more = s.copies.get(key);
    if (more === undefined) out.required.add(loc.packId);
    else out.anyOf.set(key, [loc.packId, ...more]);
  };
  const packsOfTree = (treeId: string): PackNeeds => {
    const memo = packMemo.get(treeId);
    if (memo !== undefined) return memo;
    const out: PackNeeds = { required: new Set(), anyOf: new Map() };
    packMemo.set(treeId, out);
    need(out, `tree:${treeId}`);
    const nodes = t.trees.get(treeId);
    if (typeof nodes !== "object") return out;
    for (const n of nodes) {
      for (const id of n.content ?? []) need(out, `data:${id}`);
      if (n.type === "dir" && n.subtree !== undefined) {
        const sub = packsOfTree(n.subtree);
        for (const p of sub.required) out.required.add(p);
        for (const [k, v] of sub.anyOf) out.anyOf.set(k, v);
      }
    }
    return out;
  };
  const collectPaths = (treeId: string, dir: Buffer, out: AffectedPath[]): void => {
    const nodes = t.trees.get(treeId);
    if (typeof nodes !== "object") {
      out.push({
        path: displayPath(dir),
        reason: `directory contents lost: ${nodes ?? "not loaded"}`,
        packs: lostIn(s, `tree:${treeId}`) ?? [],
      });
      return;
    }
    for (const n of nodes) {
      const p = joinPath(dir, n.name);
      if (n.type === "file") {
        const packs = new Set<string>();
        const why = fileProblem(s, n, packs);
        if (why !== undefined)
          out.push({ path: displayPath(p), reason: why, packs: [...packs].sort() });
      } else if (n.type === "dir" && n.subtree !== undefined && isTainted(n.subtree)) {
        collectPaths(n.subtree, p, out);
      }
    }
  };
  const affected: AffectedSnapshot[] = [];
  const packsOf = new Map<string, PackNeeds>();
  for (const [id, snap] of [...t.snapshots].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    packsOf.set(id, packsOfTree(snap.tree));
    if (!isTainted(snap.tree)) continue;
    const paths: AffectedPath[] = [];
    collectPaths(snap.tree, ROOT, paths);
    affected.push({ id, paths });
  }
  for (const [id, why] of t.unreadable) affected.push({ id, unreadable: why, paths: [] });
  return { affected, packsOf };
}
