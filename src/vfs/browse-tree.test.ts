import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../core/deps.ts";
import { isCofferError } from "../core/errors.ts";
import { BrowseTree } from "./browse-tree.ts";
import { localTimeFormatter } from "./layout.ts";
import { FakeSource, node } from "./testing-fake-source.ts";

const ID1 = "1".repeat(64);
const ID2 = "2".repeat(64);

function repoWithOneSnapshot(): { src: FakeSource; big: Uint8Array; blobIds: string[] } {
  const src = new FakeSource();
  const big = new Uint8Array(10 * 1000).map((_, i) => (i * 7) % 251);
  const blobIds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) =>
    src.blob(big.subarray(i * 1000, (i + 1) * 1000)),
  );
  const small = src.blob(Buffer.from("hello\n"));
  const sub = src.tree([
    node("big", { type: "file", size: big.length, content: blobIds }),
    node("a", { type: "file", size: 6, content: [small], links: 2, inode: 77n }),
    node("b", { type: "file", size: 6, content: [small], links: 2, inode: 77n }),
    node("link", { type: "symlink", linkTarget: Buffer.from("a") }),
    node(Buffer.from([0x66, 0xff, 0x6f]), { type: "file", size: 6, content: [small] }),
  ]);
  const root = src.tree([node("data", { type: "dir", subtree: sub, mode: 0o750 })]);
  src.snapshot(ID1, "2026-01-01T10:00:00Z", root, "web", ["daily"]);
  return { src, big, blobIds };
}

async function open(src: FakeSource, clock = new FakeClock(0)): Promise<BrowseTree> {
  return BrowseTree.open(src, { clock, formatTime: localTimeFormatter(() => 0), readAhead: 0 });
}

const names = (ns: { name: Buffer }[]): string[] => ns.map((n) => n.name.toString("latin1"));

test("BrowseTree shows snapshots/<time>, ids/, latest, hosts/<h>/latest and tags/<t>/latest as links into snapshots/", async () => {
  const { src } = repoWithOneSnapshot();
  const t = await open(src);
  assert.deepEqual(names(await t.list(t.root)), ["hosts", "ids", "latest", "snapshots", "tags"]);
  const latest = await t.lookup(t.root, Buffer.from("latest"));
  assert.equal(latest?.kind, "symlink");
  assert.equal(latest.linkTarget?.toString(), "snapshots/2026-01-01T10:00:00Z");
  const ids = await t.resolve([Buffer.from("ids")]);
  assert.deepEqual(
    (await t.list(ids!)).map((n) => n.linkTarget?.toString()),
    ["../snapshots/2026-01-01T10:00:00Z"],
  );
  for (const path of [
    "latest/data",
    "hosts/web/latest/data",
    "tags/daily/latest/data",
    "ids/11111111/data",
    "snapshots/2026-01-01T10:00:00Z/data",
  ]) {
    const d = await t.resolve(path.split("/").map((p) => Buffer.from(p)));
    assert.equal(d?.kind, "dir", path);
    assert.equal(d.mode, 0o750);
    assert.equal(d.path, "snapshots/2026-01-01T10:00:00Z/data");
  }
  assert.equal(await t.resolve([Buffer.from("nope")]), undefined);
});

test("BrowseTree gives stable inode numbers, shared by hard links, and keeps names as bytes", async () => {
  const { src } = repoWithOneSnapshot();
  const t1 = await open(src);
  const t2 = await open(src);
  const p = ["latest", "data"].map((x) => Buffer.from(x));
  const d1 = (await t1.resolve(p))!;
  const d2 = (await t2.resolve(p))!;
  assert.equal(d1.ino, d2.ino);
  const entries = await t1.list(d1);
  const a = entries.find((e) => e.name.toString() === "a")!;
  const b = entries.find((e) => e.name.toString() === "b")!;
  assert.equal(a.ino, b.ino);
  assert.equal(a.nlink, 2);
  const odd = await t1.lookup(d1, Buffer.from([0x66, 0xff, 0x6f]));
  assert.equal(odd?.path, "snapshots/2026-01-01T10:00:00Z/data/f\\xffo");
  assert.equal(new Set(entries.map((e) => e.ino)).size, entries.length - 1);
});

test("BrowseTree.read() decodes only the blobs a range covers, through the blob cache", async () => {
  const { src, big } = repoWithOneSnapshot();
  const t = await open(src);
  const f = (await t.resolve(["latest", "data", "big"].map((x) => Buffer.from(x))))!;
  src.blobLoads = [];
  assert.deepEqual(await t.read(f, 2500, 1000), Buffer.from(big.subarray(2500, 3500)));
  assert.equal(src.blobLoads.length, 2, "blobs 2 and 3 only");
  assert.deepEqual(await t.read(f, 2600, 10), Buffer.from(big.subarray(2600, 2610)));
  assert.equal(src.blobLoads.length, 2, "served from the cache");
  assert.deepEqual(await t.read(f, 9990, 100), Buffer.from(big.subarray(9990)));
  assert.equal((await t.read(f, 10_000, 100)).length, 0);
});

test("BrowseTree.read() of a damaged blob fails naming the file; other files still read", async () => {
  const { src, blobIds } = repoWithOneSnapshot();
  src.damaged.add(blobIds[4]!);
  const t = await open(src);
  const dir = (await t.resolve(["latest", "data"].map((x) => Buffer.from(x))))!;
  const big = (await t.lookup(dir, Buffer.from("big")))!;
  const a = (await t.lookup(dir, Buffer.from("a")))!;
  await t.read(big, 0, 4000);
  await assert.rejects(t.read(big, 4000, 10), (err) => {
    assert.ok(isCofferError(err, "CORRUPT"));
    assert.match(
      err.message,
      /^Cannot read snapshots\/2026-01-01T10:00:00Z\/data\/big: Cannot read blob .*authentication failed/,
    );
    return true;
  });
  assert.equal((await t.read(a, 0, 100)).toString(), "hello\n");
});

test("BrowseTree picks up new snapshots once the list is a minute old, or at once on refresh()", async () => {
  const { src } = repoWithOneSnapshot();
  const clock = new FakeClock(0);
  const t = await open(src, clock);
  src.snapshot(ID2, "2026-01-02T10:00:00Z", src.snapshots[0]!.snapshot.tree, "db");
  clock.advance(59_000);
  assert.equal(
    (await t.lookup(t.root, Buffer.from("latest")))?.linkTarget?.toString(),
    "snapshots/2026-01-01T10:00:00Z",
  );
  clock.advance(1_000);
  const latest = await t.lookup(t.root, Buffer.from("latest"));
  assert.equal(latest?.linkTarget?.toString(), "snapshots/2026-01-02T10:00:00Z");
  assert.deepEqual(names(await t.list((await t.resolve([Buffer.from("hosts")]))!)), ["db", "web"]);
  src.snapshots.pop();
  await t.refresh();
  assert.equal(
    (await t.lookup(t.root, Buffer.from("latest")))?.linkTarget?.toString(),
    "snapshots/2026-01-01T10:00:00Z",
  );
});

test("BrowseTree keeps the old snapshot list when a refresh fails, and reports it", async () => {
  const { src } = repoWithOneSnapshot();
  const errors: unknown[] = [];
  const t = await BrowseTree.open(src, {
    clock: new FakeClock(0),
    formatTime: localTimeFormatter(() => 0),
    onRefreshError: (e) => errors.push(e),
  });
  src.listSnapshots = () => Promise.reject(new Error("network down"));
  await t.refresh();
  assert.equal(errors.length, 1);
  assert.equal(t.layout.snapshots.length, 1);
});
