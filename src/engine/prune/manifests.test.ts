import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import type { Snapshot } from "../../format/snapshot.ts";
import { manifestJobs } from "./manifests.ts";
import { snapshotPacks, type TreeRefs } from "./usage.ts";

const id = (c: string): string => c.repeat(64);

test("snapshotPacks() recomputes a manifest's packs from the trees and the kept copies", () => {
  const trees = new Map<string, TreeRefs>([
    [id("r"), { data: [id("a"), id("b")], trees: [id("s"), id("t")] }],
    [id("s"), { data: [id("c")], trees: [id("t")] }],
    [id("t"), { data: [id("a")], trees: [] }],
  ]);
  const where: Record<string, string> = {
    [`tree${id("r")}`]: id("1"),
    [`tree${id("s")}`]: id("1"),
    [`tree${id("t")}`]: id("2"),
    [`data${id("a")}`]: id("5"),
    [`data${id("b")}`]: id("4"),
    [`data${id("c")}`]: id("5"),
  };
  const packs = snapshotPacks(id("r"), trees, (type, b) => where[type + b]);
  assert.deepEqual(packs, [id("1"), id("2"), id("4"), id("5")]);
  assert.throws(
    () => snapshotPacks(id("r"), trees, (type, b) => (b === id("c") ? undefined : where[type + b])),
    (e) => isCofferError(e, "CORRUPT") && /data blob cccccccc/.test(e.message),
  );
});

test("manifestJobs() picks snapshots without one manifest, or naming a removed or missing pack", () => {
  const snap = { tree: id("r") } as Snapshot;
  const snapshots = new Map(["1", "2", "3", "4", "5"].map((c) => [id(c), snap]));
  const m = (s: string, key: string, packs: string[]) => ({ key, snapshot: id(s), packs });
  const manifests = new Map([
    [id("1"), [m("1", "manifests/a", [id("p")])]],
    [id("2"), [m("2", "manifests/b", [id("q")])]],
    [id("3"), [m("3", "manifests/c", [id("p")]), m("3", "manifests/d", [id("p")])]],
    [id("5"), [m("5", "manifests/e", [id("x")])]],
  ]);
  const jobs = manifestJobs(snapshots, manifests, new Set([id("q")]), new Set([id("p"), id("q")]));
  assert.deepEqual(
    jobs.map((j) => [j.id[0], j.old]),
    [
      ["2", ["manifests/b"]],
      ["3", ["manifests/c", "manifests/d"]],
      ["4", []],
      ["5", ["manifests/e"]],
    ],
  );
});
