import type { TreeNode } from "../format/tree.ts";
import { displayPath } from "../engine/repository/index.ts";
import { snapshotNodeIno } from "./ino.ts";

/** What a browse-tree node is. */
export type VKind = "dir" | "file" | "symlink" | "blockdev" | "chardev";

/** Where a node's contents come from. */
export type VSource =
  /** A virtual directory of the top levels: "", "snapshots", "ids", "hosts", "hosts/<h>", … */
  | { t: "virtual"; key: string }
  /** A directory of a snapshot (its tree blob). */
  | { t: "tree"; tree: string; snapshotId: string; pathBytes: Buffer }
  /** A regular file of a snapshot (its data blobs). */
  | { t: "file"; content: readonly string[]; snapshotId: string }
  /** No contents (symlinks, devices). */
  | { t: "none" };

/** One node of the browse tree, with the attributes a file system shows. */
export interface VNode {
  /** Stable inode number (see ino.ts). */
  ino: bigint;
  kind: VKind;
  name: Buffer;
  /** Mount-relative display path (`snapshots/2026-…/etc/hosts`), for messages. */
  path: string;
  /** Permission bits (no file type bits). */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  mtimeNs: bigint;
  atimeNs: bigint;
  ctimeNs: bigint;
  rdev: number;
  linkTarget?: Buffer;
  xattrs: readonly { name: string; value: Buffer }[];
  /** True inside a snapshot (never changes, may be cached forever); false for the top levels. */
  immutable: boolean;
  source: VSource;
}

/** The attributes of a virtual node (directory or symlink) of the top levels. */
export function virtualNode(
  ino: bigint,
  name: string,
  path: string,
  kind: "dir" | "symlink",
  timeNs: bigint,
  owner: { uid: number; gid: number },
  extra: { key?: string; target?: string; tree?: { tree: string; snapshotId: string } } = {},
): VNode {
  const target = extra.target !== undefined ? Buffer.from(extra.target, "utf8") : undefined;
  const source: VSource =
    extra.tree !== undefined
      ? { t: "tree", ...extra.tree, pathBytes: Buffer.from("/") }
      : extra.key !== undefined
        ? { t: "virtual", key: extra.key }
        : { t: "none" };
  return {
    ino,
    kind,
    name: Buffer.from(name, "utf8"),
    path,
    mode: kind === "dir" ? 0o555 : 0o777,
    uid: owner.uid,
    gid: owner.gid,
    nlink: kind === "dir" ? 2 : 1,
    size: target?.length ?? 0,
    mtimeNs: timeNs,
    atimeNs: timeNs,
    ctimeNs: timeNs,
    rdev: 0,
    ...(target !== undefined ? { linkTarget: target } : {}),
    xattrs: [],
    immutable: extra.tree !== undefined,
    source,
  };
}

/** The node for `n`, an entry of the snapshot directory `parent` (a "tree" node). */
export function snapshotChild(parent: VNode & { source: { t: "tree" } }, n: TreeNode): VNode {
  const { snapshotId } = parent.source;
  const pb = parent.source.pathBytes;
  const pathBytes =
    pb.length === 1 ? Buffer.concat([pb, n.name]) : Buffer.concat([pb, Buffer.from("/"), n.name]);
  const hardLink =
    n.type === "file" && n.links > 1 ? { devId: n.devId, inode: n.inode } : undefined;
  const kind: VKind = n.type === "dev" ? "blockdev" : n.type;
  const source: VSource =
    n.type === "dir" && n.subtree !== undefined
      ? { t: "tree", tree: n.subtree, snapshotId, pathBytes }
      : n.type === "file"
        ? { t: "file", content: n.content ?? [], snapshotId }
        : { t: "none" };
  return {
    ino: snapshotNodeIno(snapshotId, pathBytes, hardLink),
    kind,
    name: n.name,
    path: `${parent.path}/${displayPath(n.name)}`,
    mode: n.mode & 0o7777,
    uid: n.uid,
    gid: n.gid,
    nlink: Math.max(1, n.links),
    size: n.type === "symlink" ? (n.linkTarget?.length ?? 0) : n.size,
    mtimeNs: n.mtimeNs,
    atimeNs: n.atimeNs,
    ctimeNs: n.ctimeNs,
    rdev: n.rdev ?? 0,
    ...(n.linkTarget !== undefined ? { linkTarget: n.linkTarget } : {}),
    xattrs: n.xattrs ?? [],
    immutable: true,
    source,
  };
}
