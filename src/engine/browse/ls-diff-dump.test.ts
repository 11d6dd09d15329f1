import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import { packKey } from "../../format/pack.ts";
import { fxBytes, writeFixture, type FxNode } from "../testing/check-fixture.ts";
import { diff } from "./diff.ts";
import { dump } from "./dump.ts";
import { ls } from "./ls.ts";
import { testRepository } from "../testing/fixtures.ts";
import { displayPath } from "../repository/index.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const treeA = (): FxNode[] => [
  { type: "file", name: "a.txt", data: Buffer.from("alpha\n") },
  { type: "file", name: "big.bin", data: fxBytes(3500, 1) },
  {
    type: "dir",
    name: "etc",
    children: [
      { type: "file", name: "conf", data: Buffer.from("x=1\n") },
      { type: "symlink", name: "ln", target: "conf" },
    ],
  },
  {
    type: "dir",
    name: "same",
    children: [{ type: "file", name: "s", data: Buffer.from("same"), inode: 7 }],
  },
  { type: "file", name: "gone", data: Buffer.from("bye") },
  { type: "file", name: "kind", data: Buffer.from("file") },
];
const treeB = (): FxNode[] => [
  { type: "file", name: "a.txt", data: Buffer.from("alpha\n"), mode: 0o600 },
  { type: "file", name: "big.bin", data: fxBytes(3500, 2) },
  {
    type: "dir",
    name: "etc",
    children: [
      { type: "file", name: "conf", data: Buffer.from("x=1\n") },
      { type: "symlink", name: "ln", target: "other" },
      { type: "dir", name: "new", children: [{ type: "file", name: "n", data: Buffer.from("n") }] },
    ],
  },
  {
    type: "dir",
    name: "same",
    children: [{ type: "file", name: "s", data: Buffer.from("same"), inode: 7 }],
  },
  { type: "dir", name: "kind", children: [] },
];

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test("ls() lists a snapshot depth-first, or one sub-path", async () => {
  const repo = await testRepository();
  const fx = await writeFixture(repo, treeA());
  const all = (await collect(ls(repo, fx.snapshotId))).map((e) => e.path);
  assert.deepEqual(all, [
    "/a.txt",
    "/big.bin",
    "/etc",
    "/etc/conf",
    "/etc/ln",
    "/gone",
    "/kind",
    "/same",
    "/same/s",
  ]);
  assert.deepEqual(
    (await collect(ls(repo, "latest", "/etc"))).map((e) => e.path),
    ["/etc", "/etc/conf", "/etc/ln"],
  );
  assert.deepEqual(
    (await collect(ls(repo, "latest", "etc/conf"))).map((e) => e.node.size),
    [4],
  );
  assert.deepEqual((await collect(ls(repo, "latest", "/", { recursive: false }))).length, 6);
  await assert.rejects(
    collect(ls(repo, "latest", "/nope/x")),
    (e) => isCofferError(e, "NOT_FOUND") && /\/nope/.test(e.message),
  );
});

test("displayPath() escapes invalid UTF-8 and backslashes distinctly", () => {
  assert.equal(displayPath(Buffer.from("/a/é")), "/a/é");
  assert.equal(displayPath(Buffer.from([0x2f, 0x66, 0xff, 0x5c])), "/f\\xff\\\\");
});

test("diff() reports added, removed, modified and type-changed paths, skipping equal subtrees", async () => {
  const repo = await testRepository();
  const a = await writeFixture(repo, treeA(), { time: "2026-01-01T00:00:00Z" });
  const b = await writeFixture(repo, treeB(), { time: "2026-01-02T00:00:00Z" });
  const loaded: string[] = [];
  const spy = {
    listSnapshotIds: () => repo.listSnapshotIds(),
    loadSnapshot: (id: string) => repo.loadSnapshot(id),
    loadTree: (id: string) => {
      loaded.push(id);
      return repo.loadTree(id);
    },
  };
  const out = (await collect(diff(spy, a.snapshotId, b.snapshotId))).map(
    (e) => `${e.change} ${e.path}${e.what ? ` ${e.what.join(",")}` : ""}`,
  );
  assert.deepEqual(out, [
    "M /a.txt mode",
    "M /big.bin content",
    "M /etc/ln target",
    "+ /etc/new/",
    "+ /etc/new/n",
    "- /gone",
    "T /kind/",
  ]);
  const sameTree = (await repo.loadTree(a.tree)).find(
    (n) => n.name.toString() === "same",
  )!.subtree!;
  assert.ok(!loaded.includes(sameTree), "identical subtree was loaded");
  assert.deepEqual(await collect(diff(repo, a.snapshotId, a.snapshotId)), []);
});

test("dump() writes a file's bytes, and a directory as a tar that GNU tar extracts", async () => {
  const repo = await testRepository();
  const fx = await writeFixture(repo, treeA());
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on("data", (c: Buffer) => chunks.push(c));
  await dump(repo, fx.snapshotId, "/big.bin", sink, { readAhead: 2 });
  assert.deepEqual(Buffer.concat(chunks), fxBytes(3500, 1));

  const dir = await mkdtemp(join(tmpdir(), "coffer-dump-"));
  dirs.push(dir);
  const tarChunks: Buffer[] = [];
  const t = new PassThrough();
  t.on("data", (c: Buffer) => tarChunks.push(c));
  await dump(repo, "latest", "/etc", t);
  await (await import("node:fs/promises")).writeFile(join(dir, "x.tar"), Buffer.concat(tarChunks));
  execFileSync("tar", ["-xf", join(dir, "x.tar"), "-C", dir]);
  assert.equal(await readFile(join(dir, "conf"), "utf8"), "x=1\n");
  assert.equal(
    execFileSync("readlink", [join(dir, "ln")])
      .toString()
      .trim(),
    "conf",
  );
});

test("dump() fails naming the file when a blob is damaged", async () => {
  const repo = await testRepository();
  const fx = await writeFixture(repo, treeA(), { blobsPerPack: 1 });
  const id = (await repo.loadTree(fx.tree)).find((n) => n.name.toString() === "big.bin")!
    .content![1]!;
  await repo.storage.delete(packKey(fx.blobPack.get(id)!));
  await assert.rejects(
    dump(repo, fx.snapshotId, "/big.bin", new PassThrough()),
    (e) => isCofferError(e, "NOT_FOUND") && /Cannot dump \/big\.bin/.test(e.message),
  );
});
