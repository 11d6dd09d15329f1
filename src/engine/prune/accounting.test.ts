import assert from "node:assert/strict";
import { test } from "node:test";
import type { IndexBlob, IndexPack } from "../../format/index-file.ts";
import { accountUsage, blobKey } from "./accounting.ts";

const id = (c: string): string => c.repeat(64);
const blob = (c: string, offset: number, length: number): IndexBlob => [
  id(c),
  offset,
  length,
  length,
  0,
];
const pack = (c: string, blobs: IndexBlob[], type: "data" | "tree" = "data"): IndexPack => ({
  id: id(c),
  type,
  size: blobs.reduce((n, b) => n + b[2], 0) + 100,
  blobs,
});
const stored = (...ps: IndexPack[]): Map<string, number> => new Map(ps.map((p) => [p.id, p.size]));

test("accountUsage() counts used and unused bytes per pack", () => {
  const p1 = pack("1", [blob("a", 0, 10), blob("b", 10, 20)]);
  const p2 = pack("2", [blob("c", 0, 30)]);
  const t1 = pack("3", [blob("a", 0, 5)], "tree");
  const u = accountUsage([p1, p2, t1], stored(p1, p2, t1), {
    data: new Set([id("a")]),
    tree: new Set([id("a")]),
  });
  assert.deepEqual(
    [...u.packs.values()].map((p) => [p.id[0], p.type, p.usedBytes, p.unusedBytes, p.used.length]),
    [
      ["1", "data", 10, 20, 1],
      ["2", "data", 0, 30, 0],
      ["3", "tree", 5, 0, 1],
    ],
  );
  assert.equal(u.chosen.get(blobKey("data", id("a")))?.packId, id("1"));
  assert.deepEqual(u.missing, []);
});

test("accountUsage() counts a blob with two copies once, in the pack a repack wrote", () => {
  // Old pack: a (used), b (unused); new pack from an interrupted repack: a only.
  const old = pack("1", [blob("a", 0, 10), blob("b", 10, 20)]);
  const fresh = pack("9", [blob("a", 0, 10)]);
  const u = accountUsage([old, fresh], stored(old, fresh), {
    data: new Set([id("a")]),
    tree: new Set(),
  });
  assert.equal(u.chosen.get(blobKey("data", id("a")))?.packId, id("9"));
  assert.equal(u.packs.get(id("1"))?.used.length, 0, "the old copy is unused");
  assert.equal(u.packs.get(id("1"))?.unusedBytes, 30);
  assert.equal(u.packs.get(id("9"))?.usedBytes, 10);
});

test("accountUsage() breaks ties by the smallest pack ID and avoids planned packs", () => {
  const p1 = pack("1", [blob("a", 0, 10)]);
  const p2 = pack("2", [blob("a", 0, 10)]);
  const used = { data: new Set([id("a")]), tree: new Set<string>() };
  assert.equal(
    accountUsage([p2, p1], stored(p1, p2), used).chosen.get(blobKey("data", id("a")))?.packId,
    id("1"),
  );
  const avoided = accountUsage([p2, p1], stored(p1, p2), used, new Set([id("1")]));
  assert.equal(avoided.chosen.get(blobKey("data", id("a")))?.packId, id("2"));
});

test("accountUsage() counts a blob stored twice in one pack once", () => {
  const p1 = pack("1", [blob("a", 0, 10), blob("a", 10, 10)]);
  const u = accountUsage([p1], stored(p1), { data: new Set([id("a")]), tree: new Set() });
  assert.equal(u.packs.get(id("1"))?.usedBytes, 10);
  assert.equal(u.packs.get(id("1"))?.unusedBytes, 10);
});

test("accountUsage() reports used blobs no stored pack holds, and unindexed packs", () => {
  const p1 = pack("1", [blob("a", 0, 10)]);
  const gone = pack("2", [blob("b", 0, 10)]);
  const s = stored(p1);
  s.set(id("7"), 1234);
  const u = accountUsage([p1, gone], s, {
    data: new Set([id("a"), id("b")]),
    tree: new Set([id("c")]),
  });
  assert.deepEqual(u.missing, [
    { type: "data", id: id("b") },
    { type: "tree", id: id("c") },
  ]);
  assert.deepEqual(u.unindexed, [{ id: id("7"), size: 1234 }]);
  assert.equal(u.packs.has(id("2")), false, "packs not stored are ignored");
});
