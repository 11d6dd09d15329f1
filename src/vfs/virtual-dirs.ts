import { hashIno } from "./ino.ts";
import type { Layout } from "./layout.ts";
import { virtualNode, type VNode } from "./vnode.ts";

/**
 * The entries of a virtual directory of the top levels (`key`: "" for the root,
 * "snapshots", "ids", "hosts", "hosts/<host>", "tags", "tags/<tag>") for `L`. Shortcuts are
 * relative symlinks into `snapshots/`; an inode number covers a link's target, so a moved
 * `latest` is a new inode to the kernel.
 */
export function virtualList(L: Layout, key: string, owner: { uid: number; gid: number }): VNode[] {
  const t = L.latest?.timeNs ?? 0n;
  const dir = (name: string, path: string): VNode =>
    virtualNode(hashIno("virtual", path), name, path, "dir", t, owner, { key: path });
  const link = (name: string, path: string, target: string, ns: bigint): VNode =>
    virtualNode(hashIno("link", path, target), name, path, "symlink", ns, owner, {
      target,
    });
  const snapPath = (name: string): string => `snapshots/${name}`;
  if (key === "") {
    const out = [dir("hosts", "hosts"), dir("ids", "ids")];
    if (L.latest !== undefined)
      out.push(link("latest", "latest", snapPath(L.latest.name), L.latest.timeNs));
    out.push(dir("snapshots", "snapshots"), dir("tags", "tags"));
    return out;
  }
  if (key === "snapshots") {
    return L.snapshots.map((s) =>
      virtualNode(hashIno("snapshot", s.id), s.name, snapPath(s.name), "dir", s.timeNs, owner, {
        tree: { tree: s.found.snapshot.tree, snapshotId: s.id },
      }),
    );
  }
  if (key === "ids") {
    return L.snapshots.map((s) =>
      link(s.alias, `ids/${s.alias}`, `../${snapPath(s.name)}`, s.timeNs),
    );
  }
  for (const [top, map] of [
    ["hosts", L.hosts],
    ["tags", L.tags],
  ] as const) {
    if (key === top) return [...map.keys()].sort().map((h) => dir(h, `${top}/${h}`));
    if (key.startsWith(`${top}/`)) {
      const s = map.get(key.slice(top.length + 1));
      if (s === undefined) return [];
      return [link("latest", `${key}/latest`, `../../${snapPath(s.name)}`, s.timeNs)];
    }
  }
  return [];
}
