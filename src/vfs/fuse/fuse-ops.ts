import type { BrowseTree } from "../browse-tree.ts";
import { ROOT_INO } from "../ino.ts";
import type { VNode } from "../vnode.ts";
import {
  type Attr,
  attrOut,
  cName,
  direntSize,
  encodeReply,
  ENTRY_OUT_SIZE,
  entryOut,
  Errno,
  FOPEN_KEEP_CACHE,
  InitFlag,
  initOut,
  Op,
  openOut,
  parseRequest,
  readIn,
  type Request,
  statfsOut,
  type Validity,
  WRITE_OPS,
  writeDirent,
} from "./fuse-abi.ts";

const TYPE_BITS: Record<VNode["kind"], number> = {
  dir: 0o040000,
  file: 0o100000,
  symlink: 0o120000,
  blockdev: 0o060000,
  chardev: 0o020000,
};

/** The attributes FUSE shows for `n` (inode 1 for the root). */
export function attrOf(n: VNode): Attr {
  return {
    ino: n.ino,
    size: n.size,
    mode: TYPE_BITS[n.kind] | (n.mode & 0o7777),
    nlink: n.nlink,
    uid: n.uid,
    gid: n.gid,
    rdev: n.rdev,
    atimeNs: n.atimeNs,
    mtimeNs: n.mtimeNs,
    ctimeNs: n.ctimeNs,
  };
}

/** Snapshot contents never change: the kernel may cache them for an hour. */
const LONG = 3600;
/** The top levels change when snapshots come and go. */
const SHORT = 1;
const MAX_WRITE = 128 * 1024;
/** Largest protocol minor version whose structs this file encodes. */
const MAX_MINOR = 38;

interface Known {
  node: VNode;
  lookups: bigint;
}

/**
 * Answers FUSE requests from a {@link BrowseTree}: the protocol logic between the raw
 * request bytes and the tree, with no I/O of its own (`send` writes a reply, `log` reports
 * a damaged file on stderr). Everything that would write is refused with EROFS.
 */
export class FuseOps {
  readonly #known = new Map<bigint, Known>();
  readonly #dirs = new Map<bigint, VNode[]>();
  readonly #logged = new Set<string>();
  #nextFh = 1n;
  /** Set once the kernel sent DESTROY. */
  destroyed = false;

  constructor(
    readonly tree: BrowseTree,
    private readonly send: (reply: Buffer) => void,
    private readonly log: (message: string) => void,
  ) {}

  /** Nodes the kernel holds a reference to (for tests and leak checks). */
  get knownNodes(): number {
    return this.#known.size;
  }

  /** Handles one request; never throws (a failure is an error reply). */
  async handle(buf: Buffer): Promise<void> {
    let req: Request;
    try {
      req = parseRequest(buf);
    } catch (err) {
      this.log(`ignoring a malformed FUSE request: ${(err as Error).message}`);
      return;
    }
    try {
      await this.#dispatch(req);
    } catch (err) {
      this.#report(err);
      this.#reply(req, Errno.EIO);
    }
  }

  /** Sends the reply; true (so that a handler can `return this.#reply(…)`). */
  #reply(req: Request, error: number, payload?: Buffer): boolean {
    this.send(encodeReply(req.unique, error, payload));
    return true;
  }

  #report(err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    if (this.#logged.has(msg)) return;
    if (this.#logged.size > 1000) this.#logged.clear();
    this.#logged.add(msg);
    this.log(msg);
  }

  #node(nodeid: bigint): VNode | undefined {
    return nodeid === ROOT_INO ? this.tree.root : this.#known.get(nodeid)?.node;
  }

  #remember(n: VNode): bigint {
    if (n.ino === ROOT_INO) return ROOT_INO;
    const k = this.#known.get(n.ino);
    if (k === undefined) this.#known.set(n.ino, { node: n, lookups: 1n });
    else {
      k.lookups++;
      k.node = n;
    }
    return n.ino;
  }

  #forget(nodeid: bigint, n: bigint): void {
    const k = this.#known.get(nodeid);
    if (k === undefined) return;
    k.lookups -= n;
    if (k.lookups <= 0n) this.#known.delete(nodeid);
  }

  #validity(parent: VNode, n: VNode): Validity {
    return { entry: parent.immutable ? LONG : SHORT, attr: n.immutable ? LONG : SHORT };
  }

  async #dispatch(req: Request): Promise<boolean> {
    const { opcode, body } = req;
    if (WRITE_OPS.has(opcode)) return this.#reply(req, Errno.EROFS);
    switch (opcode) {
      case Op.INIT:
        return this.#init(req);
      case Op.DESTROY:
        this.destroyed = true;
        return this.#reply(req, 0);
      case Op.FORGET:
        this.#forget(req.nodeid, body.readBigUInt64LE(0));
        return false;
      case Op.BATCH_FORGET: {
        const count = body.readUInt32LE(0);
        for (let i = 0; i < count && 8 + i * 16 + 16 <= body.length; i++)
          this.#forget(body.readBigUInt64LE(8 + i * 16), body.readBigUInt64LE(16 + i * 16));
        return false;
      }
      case Op.INTERRUPT:
        return false; // requests finish quickly; the interrupted one still gets its reply
      case Op.STATFS:
        return this.#reply(req, 0, statfsOut(this.#known.size + 1));
      case Op.FLUSH:
      case Op.RELEASE:
      case Op.FSYNC:
      case Op.FSYNCDIR:
        return this.#reply(req, 0);
      case Op.RELEASEDIR:
        this.#dirs.delete(body.readBigUInt64LE(0));
        return this.#reply(req, 0);
      default:
        break;
    }
    const node = this.#node(req.nodeid);
    if (node === undefined) return this.#reply(req, Errno.ENOENT);
    switch (opcode) {
      case Op.LOOKUP: {
        if (node.kind !== "dir") return this.#reply(req, Errno.ENOTDIR);
        const child = await this.tree.lookup(node, cName(body));
        if (child === undefined) return this.#reply(req, Errno.ENOENT);
        const id = this.#remember(child);
        return this.#reply(req, 0, entryOut(id, attrOf(child), this.#validity(node, child)));
      }
      case Op.GETATTR:
        return this.#reply(req, 0, attrOut(attrOf(node), node.immutable ? LONG : SHORT));
      case Op.READLINK:
        if (node.linkTarget === undefined) return this.#reply(req, Errno.EINVAL);
        return this.#reply(req, 0, node.linkTarget);
      case Op.ACCESS:
        return this.#reply(req, (body.readUInt32LE(0) & 2) !== 0 ? Errno.EROFS : 0);
      case Op.OPEN: {
        if ((body.readUInt32LE(0) & 3) !== 0) return this.#reply(req, Errno.EROFS);
        if (node.kind === "dir") return this.#reply(req, Errno.EISDIR);
        return this.#reply(req, 0, openOut(0n, node.immutable ? FOPEN_KEEP_CACHE : 0));
      }
      case Op.READ: {
        const r = readIn(body);
        if (node.kind !== "file") return this.#reply(req, Errno.EINVAL);
        return this.#reply(req, 0, await this.tree.read(node, Number(r.offset), r.size));
      }
      case Op.OPENDIR: {
        if (node.kind !== "dir") return this.#reply(req, Errno.ENOTDIR);
        const entries = await this.tree.list(node);
        const fh = this.#nextFh++;
        this.#dirs.set(fh, entries);
        return this.#reply(req, 0, openOut(fh, 0));
      }
      case Op.READDIR:
      case Op.READDIRPLUS:
        return this.#readdir(req, node, opcode === Op.READDIRPLUS);
      case Op.GETXATTR: {
        const size = body.readUInt32LE(0);
        const name = cName(body, 8).toString("utf8");
        const x = node.xattrs.find((e) => e.name === name);
        if (x === undefined) return this.#reply(req, Errno.ENODATA);
        return this.#xattrReply(req, size, x.value);
      }
      case Op.LISTXATTR: {
        const names = Buffer.concat(node.xattrs.map((x) => Buffer.from(`${x.name}\0`, "utf8")));
        return this.#xattrReply(req, body.readUInt32LE(0), names);
      }
      default:
        return this.#reply(req, Errno.ENOSYS);
    }
  }

  #xattrReply(req: Request, size: number, value: Buffer): boolean {
    if (size === 0) {
      const out = Buffer.alloc(8);
      out.writeUInt32LE(value.length, 0);
      return this.#reply(req, 0, out);
    }
    if (value.length > size) return this.#reply(req, Errno.ERANGE);
    return this.#reply(req, 0, value);
  }

  #init(req: Request): boolean {
    const major = req.body.readUInt32LE(0);
    const minor = req.body.readUInt32LE(4);
    const maxReadahead = req.body.readUInt32LE(8);
    const kernelFlags = req.body.readUInt32LE(12);
    if (major !== 7) {
      this.log(`FUSE protocol ${String(major)}.${String(minor)} is not supported (need 7.x)`);
      return this.#reply(req, Errno.EIO);
    }
    const want =
      InitFlag.ASYNC_READ |
      InitFlag.BIG_WRITES |
      InitFlag.DO_READDIRPLUS |
      InitFlag.READDIRPLUS_AUTO |
      InitFlag.PARALLEL_DIROPS |
      InitFlag.MAX_PAGES;
    return this.#reply(
      req,
      0,
      initOut({
        minor: Math.min(minor, MAX_MINOR),
        maxReadahead,
        flags: kernelFlags & want,
        maxWrite: MAX_WRITE,
        maxPages: 256,
      }),
    );
  }

  #readdir(req: Request, dir: VNode, plus: boolean): boolean {
    const { fh, offset, size } = readIn(req.body);
    const entries = this.#dirs.get(fh);
    if (entries === undefined) return this.#reply(req, Errno.EBADF);
    const out = Buffer.alloc(size);
    let at = 0;
    const dot = Buffer.from(".");
    const dotdot = Buffer.from("..");
    for (let i = Number(offset); i < entries.length + 2; i++) {
      const e = i < 2 ? undefined : entries[i - 2]!;
      const name = i === 0 ? dot : i === 1 ? dotdot : e!.name;
      const need = direntSize(name, plus);
      if (at + need > size) break;
      const d = { ino: e?.ino ?? dir.ino, next: i + 1, name, mode: e ? attrOf(e).mode : 0o040000 };
      if (plus && e !== undefined) {
        const nodeid = this.#remember(e);
        at = writeDirent(out, at, d, {
          nodeid,
          attr: attrOf(e),
          valid: this.#validity(dir, e),
        });
      } else if (plus) {
        // "." and "..": an all-zero entry_out (nodeid 0) makes the kernel take no reference
        out.fill(0, at, at + ENTRY_OUT_SIZE);
        at = writeDirent(out, at + ENTRY_OUT_SIZE, d);
      } else {
        at = writeDirent(out, at, d);
      }
    }
    return this.#reply(req, 0, out.subarray(0, at));
  }
}
