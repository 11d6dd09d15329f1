import { CofferError } from "../core/errors.ts";
import { Fields, isHexId, isObject, parseJsonObject } from "./validate.ts";

/** Kinds of tree node (format v1). */
export type NodeType = "file" | "dir" | "symlink" | "dev" | "chardev";

const TYPES: readonly string[] = ["file", "dir", "symlink", "dev", "chardev"];

/** One directory entry in a tree blob. Names and link targets are raw bytes. */
export interface TreeNode {
  name: Buffer;
  type: NodeType;
  mode: number;
  uid: number;
  gid: number;
  user: string;
  group: string;
  mtimeNs: bigint;
  atimeNs: bigint;
  ctimeNs: bigint;
  size: number;
  inode: bigint;
  devId: bigint;
  links: number;
  /** Data blob IDs (hex) of a file, in order. */
  content?: string[];
  /** Tree blob ID (hex) of a directory. */
  subtree?: string;
  /** Symlink target bytes. */
  linkTarget?: Buffer;
  /** Extended attributes, sorted by name. */
  xattrs?: { name: string; value: Buffer }[];
  /** Device number of a block/char device. */
  rdev?: number;
}

/** A usable directory entry name: non-empty, no '/' or NUL, not '.' or '..'. */
export function isSafeName(name: Uint8Array): boolean {
  if (name.length === 0 || name.includes(0x2f) || name.includes(0)) return false;
  return !(name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e)));
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The bytes as a string when they are valid UTF-8 (and round-trip exactly), else undefined. */
function utf8(b: Buffer): string | undefined {
  try {
    const s = decoder.decode(b);
    return Buffer.byteLength(s, "utf8") === b.length ? s : undefined;
  } catch {
    return undefined;
  }
}

function bytesField(out: Record<string, unknown>, key: string, b: Buffer): void {
  const s = utf8(b);
  if (s === undefined) out[`${key}B64`] = b.toString("base64");
  else out[key] = s;
}

/**
 * Encodes a directory listing as a tree blob: JSON `{"nodes":[...]}` with nodes sorted by
 * name bytes and keys in a fixed order, so equal directories give equal bytes (and IDs).
 * @throws CofferError BAD_INPUT on duplicate or empty names.
 */
export function encodeTree(nodes: readonly TreeNode[]): Buffer {
  const sorted = nodes.slice().sort((a, b) => Buffer.compare(a.name, b.name));
  const out = sorted.map((n, i) => {
    if (!isSafeName(n.name))
      throw new CofferError(
        "BAD_INPUT",
        `Cannot encode tree: invalid name ${JSON.stringify(n.name.toString())}`,
      );
    if (i > 0 && sorted[i - 1]!.name.equals(n.name)) {
      throw new CofferError(
        "BAD_INPUT",
        `Cannot encode tree: duplicate name ${JSON.stringify(n.name.toString())}`,
      );
    }
    const o: Record<string, unknown> = {};
    bytesField(o, "name", n.name);
    Object.assign(o, {
      type: n.type,
      mode: n.mode,
      uid: n.uid,
      gid: n.gid,
      user: n.user,
      group: n.group,
      mtimeNs: n.mtimeNs.toString(),
      atimeNs: n.atimeNs.toString(),
      ctimeNs: n.ctimeNs.toString(),
      size: n.size,
      inode: n.inode.toString(),
      devId: n.devId.toString(),
      links: n.links,
    });
    if (n.content !== undefined) o["content"] = n.content;
    if (n.subtree !== undefined) o["subtree"] = n.subtree;
    if (n.linkTarget !== undefined) bytesField(o, "linkTarget", n.linkTarget);
    if (n.xattrs !== undefined) {
      const x: Record<string, string> = {};
      for (const { name, value } of n.xattrs
        .slice()
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        x[name] = value.toString("base64");
      }
      o["xattrs"] = x;
    }
    if (n.rdev !== undefined) o["rdev"] = n.rdev;
    return o;
  });
  return Buffer.from(JSON.stringify({ nodes: out }), "utf8");
}

function readBytes(f: Fields, key: string): Buffer | undefined {
  if (f.has(key)) {
    if (f.has(`${key}B64`)) f.fail(key, `and ${key}B64 are both present`);
    return Buffer.from(f.string(key, 1 << 20), "utf8");
  }
  if (f.has(`${key}B64`)) {
    const s = f.string(`${key}B64`, 1 << 21);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) f.fail(`${key}B64`, "must be base64");
    return Buffer.from(s, "base64");
  }
  return undefined;
}

const MAX_ID = 0xffffffff;

/**
 * Decodes and validates a tree blob.
 * @throws CofferError CORRUPT `Cannot read tree 3fa1c2d4: ...` for any malformed field,
 *   unsorted or duplicate names.
 */
export function decodeTree(bytes: Uint8Array, treeId = "tree"): TreeNode[] {
  const what = treeId === "tree" ? "tree" : `tree ${treeId.slice(0, 8)}`;
  const top = new Fields(parseJsonObject(bytes, what), what);
  const nodes: TreeNode[] = [];
  for (const raw of top.array("nodes")) {
    if (!isObject(raw)) return top.fail("nodes", "must hold objects");
    const f = new Fields(raw, what);
    const name = readBytes(f, "name");
    if (name === undefined || name.length === 0) return f.fail("name", "is missing or empty");
    if (!isSafeName(name)) f.fail("name", "contains '/' or NUL, or is '.' or '..'");
    const prev = nodes[nodes.length - 1];
    if (prev !== undefined && Buffer.compare(prev.name, name) >= 0)
      f.fail("name", "is not sorted or is a duplicate");
    const type = f.string("type");
    if (!TYPES.includes(type)) f.fail("type", `has unknown value ${JSON.stringify(type)}`);
    const n: TreeNode = {
      name,
      type: type as NodeType,
      mode: f.uint("mode", MAX_ID),
      uid: f.uint("uid", MAX_ID),
      gid: f.uint("gid", MAX_ID),
      user: f.string("user"),
      group: f.string("group"),
      mtimeNs: f.decimal("mtimeNs"),
      atimeNs: f.decimal("atimeNs"),
      ctimeNs: f.decimal("ctimeNs"),
      size: f.uint("size"),
      inode: f.decimal("inode"),
      devId: f.decimal("devId"),
      links: f.uint("links"),
    };
    if (f.has("content")) {
      const c = f.array("content");
      for (const id of c)
        if (typeof id !== "string" || !isHexId(id)) f.fail("content", "must hold blob IDs");
      n.content = c as string[];
    }
    const subtree = f.optId("subtree");
    if (subtree !== undefined) n.subtree = subtree;
    const target = readBytes(f, "linkTarget");
    if (target !== undefined) n.linkTarget = target;
    if (f.has("xattrs")) {
      const x = f.object("xattrs");
      n.xattrs = Object.keys(x.obj).map((k) => ({
        name: k,
        value: Buffer.from(x.string(k, 1 << 22), "base64"),
      }));
    }
    const rdev = f.optUint("rdev");
    if (rdev !== undefined) n.rdev = rdev;
    if (n.type === "dir" && n.subtree === undefined)
      f.fail("subtree", "is required for a directory");
    if (n.type === "symlink" && n.linkTarget === undefined)
      f.fail("linkTarget", "is required for a symlink");
    if (n.type === "file" && n.content === undefined) f.fail("content", "is required for a file");
    nodes.push(n);
  }
  return nodes;
}
