import { lstatSync } from "node:fs";
import type { TreeNode } from "../../format/tree.ts";
import { toEntryStat } from "../../fsmeta/entry-stat.ts";
import type { Owners } from "../../fsmeta/owners.ts";
import type { References } from "./commit.ts";
import { baseNode, components } from "./nodes.ts";
import { nameKey as key } from "./pipeline/parent-trees.ts";

/** A backed-up root path and its node (a backed-up `/` also gives its children). */
export interface RootEntry {
  path: Buffer;
  node: Promise<TreeNode | undefined>;
  nodes?: Promise<TreeNode[]>;
}

interface VDir {
  path: Buffer;
  dirs: Map<string, VDir>;
  leaves: Promise<TreeNode | undefined>[];
  /** Nodes of a backed-up `/` (its children land at the top level). */
  rootNodes?: Promise<TreeNode[]>;
}

/** Builds the root tree that mirrors the absolute root paths, intermediate dirs from lstat. */
export async function buildRootTree(
  roots: RootEntry[],
  refs: References,
  owners: Owners,
  warn: (p: Buffer, m: string) => void,
): Promise<string> {
  const top: VDir = { path: Buffer.from("/"), dirs: new Map(), leaves: [] };
  for (const r of roots) {
    const parts = components(r.path);
    if (parts.length === 0) {
      if (r.nodes) top.rootNodes = r.nodes;
      continue;
    }
    let d = top;
    for (const part of parts.slice(0, -1)) {
      let next = d.dirs.get(key(part));
      if (next === undefined) {
        next = {
          path: Buffer.concat([
            d.path.length === 1 ? Buffer.alloc(0) : d.path,
            Buffer.from("/"),
            part,
          ]),
          dirs: new Map(),
          leaves: [],
        };
        d.dirs.set(key(part), next);
      }
      d = next;
    }
    d.leaves.push(r.node);
  }
  const build = async (d: VDir): Promise<string> => {
    const nodes = new Map<string, TreeNode>();
    for (const n of d.rootNodes ? await d.rootNodes : []) nodes.set(key(n.name), n);
    for (const n of await Promise.all(d.leaves)) if (n !== undefined) nodes.set(key(n.name), n);
    for (const sub of d.dirs.values()) {
      const subtree = await build(sub);
      let st;
      try {
        st = toEntryStat(lstatSync(sub.path, { bigint: true }));
      } catch (err) {
        warn(
          sub.path,
          `Cannot stat ${sub.path.toString()}: ${err instanceof Error ? err.message : String(err)}`,
        );
        continue;
      }
      const name = components(sub.path).pop()!;
      const n = baseNode(owners, { name, stat: st }, "dir");
      n.subtree = subtree;
      nodes.set(key(name), n);
    }
    return refs.saveTree([...nodes.values()]);
  };
  return build(top);
}
