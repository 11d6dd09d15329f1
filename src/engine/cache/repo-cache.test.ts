import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { type Fixture, writeFixture } from "../testing/check-fixture.ts";
import { ParentTrees } from "../backup/index.ts";
import { RepoCache } from "./repo-cache.ts";
import { Repository } from "../repository/index.ts";
import { CountingStorage } from "../testing/counting-storage.ts";
import { testRepository } from "../testing/fixtures.ts";

let dir: string;
let storage: CountingStorage;
let repo: Repository;
const fx: Fixture[] = [];
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "coffer-rcache-"));
  storage = new CountingStorage();
  repo = await testRepository({ storage });
  fx.length = 0;
  for (let i = 0; i < 3; i++) {
    const sub = [{ type: "file" as const, name: `g${i}`, data: Buffer.alloc(50, i) }];
    fx.push(
      await writeFixture(repo, [
        { type: "file", name: `f${i}`, data: Buffer.alloc(2500, i) },
        { type: "dir", name: "sub", children: sub },
      ]),
    );
  }
  storage.reset();
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh process's view: the same storage, a new Repository and a new RepoCache. */
async function reopen(base = dir): Promise<Repository> {
  const r = await Repository.open(storage, "test-password");
  r.cache = new RepoCache(base, r.id);
  storage.reset();
  return r;
}
const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const snapshotIds = (): string[] => fx.map((f) => f.snapshotId).sort();
/** Every tree of the fixture's snapshot, read through `r`. */
async function readTrees(r: Repository, f: Fixture): Promise<string> {
  const root = await r.loadTree(f.tree);
  const sub = root.find((n) => n.type === "dir")?.subtree ?? "";
  return JSON.stringify([root, await r.loadTree(sub)], (_k, v: unknown) =>
    typeof v === "bigint" ? v.toString() : v,
  );
}

test("loadSnapshot() with a RepoCache fetches each snapshot once, then reads the cache", async () => {
  const r1 = await reopen();
  const first = await r1.loadSnapshots();
  assert.equal(storage.count("snapshots/"), 3);
  assert.deepEqual(readdirSync(r1.cache?.snapshots.dir ?? "").sort(), snapshotIds());
  const r2 = await reopen();
  const again = await r2.loadSnapshots();
  assert.equal(storage.count("snapshots/"), 0, "every snapshot comes from the cache");
  assert.deepEqual(again, first);
  assert.deepEqual(r2.cache?.stats.snapshots, {
    hits: 3,
    misses: 0,
    writes: 0,
    dropped: 0,
    errors: 0,
  });
});

test("saveSnapshot() caches the snapshot it wrote", async () => {
  const r = await reopen();
  const id = await r.saveSnapshot(await r.loadSnapshot(fx[0]?.snapshotId ?? ""));
  assert.ok(existsSync(join(r.cache?.snapshots.dir ?? "", id)));
  storage.reset();
  await (await reopen()).loadSnapshot(id);
  assert.equal(storage.count("snapshots/"), 0);
});

test("a damaged cached snapshot is dropped, fetched again and repaired", async () => {
  await (await reopen()).loadSnapshots();
  const id = fx[1]?.snapshotId ?? "";
  const path = join(dir, repo.id, "snapshots", id);
  const good = readFileSync(path);
  writeFileSync(path, Buffer.concat([good.subarray(0, 10), Buffer.from("x"), good.subarray(11)]));
  const r = await reopen();
  const s = await r.loadSnapshot(id);
  assert.equal(s.tree, fx[1]?.tree);
  assert.deepEqual(
    storage.gets.map((g) => g.key),
    [`snapshots/${id}`],
  );
  assert.equal(r.cache?.stats.snapshots.dropped, 1);
  assert.deepEqual(readFileSync(path), good);
});

test("listSnapshotIds() removes cached snapshots the repository no longer lists", async () => {
  await (await reopen()).loadSnapshots();
  const gone = fx[0]?.snapshotId ?? "";
  await storage.delete(`snapshots/${gone}`);
  const r = await reopen();
  const ids = await r.listSnapshotIds();
  assert.equal(ids.length, 2);
  assert.deepEqual(readdirSync(join(dir, repo.id, "snapshots")).sort(), ids);
});

test("loadTree() with a RepoCache fetches a tree pack whole once, then reads the cache", async () => {
  const f = fx[2] as Fixture;
  const r1 = await reopen();
  const want = await readTrees(r1, f);
  const packGets = storage.gets.filter((g) => g.key.startsWith("data/"));
  assert.deepEqual(
    packGets.map((g) => [g.key.slice(-64), g.range]),
    f.treePacks.map((p) => [p, false]),
    "each tree pack is fetched once, whole",
  );
  const cached = readdirSync(r1.cache?.packs.dir ?? "");
  assert.deepEqual(cached.sort(), [...f.treePacks].sort());
  for (const p of cached) assert.equal(sha(readFileSync(join(r1.cache?.packs.dir ?? "", p))), p);
  const r2 = await reopen();
  assert.equal(await readTrees(r2, f), want);
  assert.equal(storage.count("data/"), 0, "the trees come from the cache");
  // Data blobs are read from their packs (ranges) and never cached.
  const blob = [...f.blobPack.keys()][0] ?? "";
  storage.reset();
  await r2.loadBlob("data", blob);
  assert.deepEqual(storage.gets, [
    {
      key: `data/${f.blobPack.get(blob)?.slice(0, 2) ?? ""}/${f.blobPack.get(blob) ?? ""}`,
      range: true,
    },
  ]);
  assert.deepEqual(readdirSync(r2.cache?.packs.dir ?? "").sort(), [...f.treePacks].sort());
});

test("a damaged cached tree pack is dropped and fetched again; the tree still reads exactly", async () => {
  const f = fx[0] as Fixture;
  const want = await readTrees(await reopen(), f);
  const pack = f.treePacks[0] ?? "";
  const path = join(dir, repo.id, "packs", pack);
  const good = readFileSync(path);
  writeFileSync(path, Buffer.alloc(good.length, 7));
  const r = await reopen();
  assert.equal(await readTrees(r, f), want);
  assert.equal(storage.count(`data/${pack.slice(0, 2)}/${pack}`), 1);
  assert.ok((r.cache?.stats.packs.dropped ?? 0) >= 1);
  assert.deepEqual(readFileSync(path), good, "the entry is repaired");
  // A truncated entry too.
  writeFileSync(path, good.subarray(0, 10));
  assert.equal(await readTrees(await reopen(), f), want);
  assert.deepEqual(readFileSync(path), good);
});

test("ParentTrees reads the trees of a damaged cached tree pack again and repairs the entry", async () => {
  const f = fx[0] as Fixture;
  await readTrees(await reopen(), f);
  const pack = f.treePacks[0] ?? "";
  const path = join(dir, repo.id, "packs", pack);
  const good = readFileSync(path);
  writeFileSync(path, Buffer.alloc(good.length, 7));
  const r = await reopen();
  await r.ensureIndex();
  const parents = new ParentTrees(r);
  const root = await parents.take(f.tree);
  assert.deepEqual([...(root?.keys() ?? [])].sort(), ["f0", "sub"]);
  const sub = await parents.take(root?.get("sub")?.subtree ?? "");
  assert.deepEqual([...(sub?.keys() ?? [])], ["g0"]);
  assert.deepEqual(readFileSync(path), good, "the entry is repaired");
});

test("loadIndex() removes cached tree packs the index no longer names", async () => {
  await readTrees(await reopen(), fx[0] as Fixture);
  await readTrees(await reopen(), fx[1] as Fixture);
  const packsDir = join(dir, repo.id, "packs");
  assert.equal(readdirSync(packsDir).length, 2);
  await storage.delete(`index/${fx[0]?.indexId ?? ""}`);
  const r = await reopen();
  await r.loadIndex();
  assert.deepEqual(readdirSync(packsDir), [...(fx[1]?.treePacks ?? [])]);
});

test("a RepoCache in an unwritable place is bypassed: snapshots and trees still read, by ranges", async () => {
  const file = join(dir, "not-a-dir");
  writeFileSync(file, "x");
  const want = await readTrees(await reopen(), fx[0] as Fixture);
  const r = await reopen(file);
  assert.equal((await r.loadSnapshots()).length, 3);
  assert.equal(await readTrees(r, fx[0] as Fixture), want);
  assert.ok(
    storage.gets.filter((g) => g.key.startsWith("data/")).every((g) => g.range),
    "no whole pack is fetched when it cannot be cached",
  );
  assert.ok((r.cache?.stats.snapshots.errors ?? 0) >= 1);
  assert.equal(r.cache?.stats.packs.writes, 0);
});

test("RepoCache refuses a repository ID that is not hex (it becomes a path component)", () => {
  assert.throws(() => new RepoCache(dir, "../../etc"), /Invalid repository ID/);
});
