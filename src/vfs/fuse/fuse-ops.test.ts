import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../core/deps.ts";
import { BrowseTree } from "../browse-tree.ts";
import { localTimeFormatter } from "../layout.ts";
import { FakeSource, node } from "../testing-fake-source.ts";
import { Errno, IN_HEADER, Op, OUT_HEADER } from "./fuse-abi.ts";
import { FuseOps } from "./fuse-ops.ts";

let unique = 0n;

function request(opcode: number, nodeid: bigint, body: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(IN_HEADER + body.length);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt32LE(opcode, 4);
  b.writeBigUInt64LE(++unique, 8);
  b.writeBigUInt64LE(nodeid, 16);
  body.copy(b, IN_HEADER);
  return b;
}

function readIn(fh: bigint, offset: number, size: number): Buffer {
  const b = Buffer.alloc(40);
  b.writeBigUInt64LE(fh, 0);
  b.writeBigUInt64LE(BigInt(offset), 8);
  b.writeUInt32LE(size, 16);
  return b;
}

interface Reply {
  error: number;
  payload: Buffer;
}

async function setup(): Promise<{
  ops: FuseOps;
  call: (req: Buffer) => Promise<Reply | undefined>;
  logs: string[];
}> {
  const src = new FakeSource();
  const hello = src.blob(Buffer.from("hello\n"));
  const bad = src.blob(Buffer.from("damaged"));
  src.damaged.add(bad);
  const root = src.tree([
    node("a.txt", {
      type: "file",
      size: 6,
      content: [hello],
      xattrs: [{ name: "user.k", value: Buffer.from("v") }],
    }),
    node("bad.txt", { type: "file", size: 7, content: [bad] }),
    ...Array.from({ length: 50 }, (_, i) =>
      node(`f${String(i).padStart(2, "0")}`, { type: "file", size: 6, content: [hello] }),
    ),
  ]);
  src.snapshot("9".repeat(64), "2026-01-01T00:00:00Z", root);
  const tree = await BrowseTree.open(src, {
    clock: new FakeClock(0),
    formatTime: localTimeFormatter(() => 0),
  });
  const replies: Buffer[] = [];
  const logs: string[] = [];
  const ops = new FuseOps(
    tree,
    (b) => replies.push(b),
    (m) => logs.push(m),
  );
  const call = async (req: Buffer): Promise<Reply | undefined> => {
    replies.length = 0;
    await ops.handle(req);
    const r = replies[0];
    if (r === undefined) return undefined;
    assert.equal(r.readUInt32LE(0), r.length);
    assert.equal(r.readBigUInt64LE(8), req.readBigUInt64LE(8), "the reply names the request");
    return { error: 0 - r.readInt32LE(4) || 0, payload: r.subarray(OUT_HEADER) };
  };
  return { ops, call, logs };
}

const name = (s: string): Buffer => Buffer.from(`${s}\0`);

async function lookupPath(
  call: (r: Buffer) => Promise<Reply | undefined>,
  parts: string[],
): Promise<bigint> {
  let id = 1n;
  for (const p of parts) {
    const r = (await call(request(Op.LOOKUP, id, name(p))))!;
    assert.equal(r.error, 0, p);
    id = r.payload.readBigUInt64LE(0);
  }
  return id;
}

test("FuseOps answers INIT with protocol 7, the kernel's minor (capped) and only flags it offered", async () => {
  const { call } = await setup();
  const body = Buffer.alloc(64);
  body.writeUInt32LE(7, 0);
  body.writeUInt32LE(41, 4);
  body.writeUInt32LE(131072, 8);
  body.writeUInt32LE((1 << 0) | (1 << 13), 12);
  const r = (await call(request(Op.INIT, 0n, body)))!;
  assert.equal(r.error, 0);
  assert.equal(r.payload.readUInt32LE(0), 7);
  assert.equal(r.payload.readUInt32LE(4), 38);
  assert.equal(r.payload.readUInt32LE(12), (1 << 0) | (1 << 13));
});

test("FuseOps refuses every write with EROFS and unknown opcodes with ENOSYS", async () => {
  const { call } = await setup();
  const file = await lookupPath(call, ["latest"]); // a symlink: any node will do
  for (const op of [
    Op.SETATTR,
    Op.MKDIR,
    Op.UNLINK,
    Op.RMDIR,
    Op.RENAME,
    Op.LINK,
    Op.SYMLINK,
    Op.CREATE,
    Op.WRITE,
    Op.SETXATTR,
    Op.REMOVEXATTR,
    Op.MKNOD,
    Op.FALLOCATE,
    Op.RENAME2,
  ])
    assert.equal(
      (await call(request(op, file, Buffer.alloc(64))))!.error,
      Errno.EROFS,
      `opcode ${String(op)}`,
    );
  assert.equal((await call(request(99, 1n)))!.error, Errno.ENOSYS);
  const openRw = Buffer.alloc(8);
  openRw.writeUInt32LE(2, 0); // O_RDWR
  const a = await lookupPath(call, ["snapshots", "2026-01-01T00:00:00Z", "a.txt"]);
  assert.equal((await call(request(Op.OPEN, a, openRw)))!.error, Errno.EROFS);
  const access = Buffer.alloc(8);
  access.writeUInt32LE(2, 0); // W_OK
  assert.equal((await call(request(Op.ACCESS, a, access)))!.error, Errno.EROFS);
});

test("FuseOps reads files and xattrs, lists directories across READDIR calls, and forgets nodes", async () => {
  const { ops, call, logs } = await setup();
  const dir = await lookupPath(call, ["snapshots", "2026-01-01T00:00:00Z"]);
  const a = await lookupPath(call, ["snapshots", "2026-01-01T00:00:00Z", "a.txt"]);
  assert.equal((await call(request(Op.READ, a, readIn(0n, 1, 100))))!.payload.toString(), "ello\n");
  const x = Buffer.concat([Buffer.alloc(8), name("user.k")]);
  assert.equal((await call(request(Op.GETXATTR, a, x)))!.payload.readUInt32LE(0), 1, "size probe");
  x.writeUInt32LE(10, 0);
  assert.equal((await call(request(Op.GETXATTR, a, x)))!.payload.toString(), "v");
  const none = Buffer.concat([Buffer.alloc(8), name("user.none")]);
  assert.equal((await call(request(Op.GETXATTR, a, none)))!.error, Errno.ENODATA);
  // READDIR in small buffers: every entry once, in order, with "." and ".."
  const fh = (await call(request(Op.OPENDIR, dir, Buffer.alloc(8))))!.payload.readBigUInt64LE(0);
  const seen: string[] = [];
  let offset = 0;
  for (;;) {
    const r = (await call(request(Op.READDIR, dir, readIn(fh, offset, 200))))!;
    if (r.payload.length === 0) break;
    for (let at = 0; at < r.payload.length;) {
      const len = r.payload.readUInt32LE(at + 16);
      offset = Number(r.payload.readBigUInt64LE(at + 8));
      seen.push(r.payload.subarray(at + 24, at + 24 + len).toString());
      at += (24 + len + 7) & ~7;
    }
  }
  assert.deepEqual(seen.slice(0, 4), [".", "..", "a.txt", "bad.txt"]);
  assert.equal(seen.length, 2 + 52);
  // a damaged file: EIO, named once in the log
  const bad = await lookupPath(call, ["snapshots", "2026-01-01T00:00:00Z", "bad.txt"]);
  assert.equal((await call(request(Op.READ, bad, readIn(0n, 0, 10))))!.error, Errno.EIO);
  assert.match(
    logs.join("\n"),
    /Cannot read snapshots\/2026-01-01T00:00:00Z\/bad\.txt: Cannot read blob/,
  );
  // FORGET drops what LOOKUP took
  const before = ops.knownNodes;
  const forget = Buffer.alloc(8);
  forget.writeBigUInt64LE(1n, 0);
  assert.equal(await call(request(Op.FORGET, bad, forget)), undefined, "FORGET gets no reply");
  assert.equal(ops.knownNodes, before - 1);
  assert.equal((await call(request(Op.GETATTR, bad, Buffer.alloc(16))))!.error, Errno.ENOENT);
});
