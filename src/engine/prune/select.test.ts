import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import type { PackUsage } from "./accounting.ts";
import { maxUnusedBytes, parseMaxUnused, parseSize, selectPacks } from "./select.ts";

const PACK = 1000;
// A pack with `used` and `unused` bytes (size = their sum).
function p(name: string, used: number, unused: number, type: "data" | "tree" = "data"): PackUsage {
  return {
    id: name.padEnd(64, "0"),
    type,
    size: used + unused,
    used: used > 0 ? [["b".repeat(64), 0, used, used, 0]] : [],
    usedBytes: used,
    unusedBytes: unused,
  };
}
const names = (ps: { id: string }[]): string[] => ps.map((x) => x.id.replace(/0+$/, ""));
const pct = (value: number) => ({ kind: "percent", value }) as const;

test("parseMaxUnused() reads percentages, sizes and unlimited; rejects the rest", () => {
  assert.deepEqual(parseMaxUnused("5%"), { kind: "percent", value: 5 });
  assert.deepEqual(parseMaxUnused("0"), { kind: "bytes", value: 0 });
  assert.deepEqual(parseMaxUnused("2G"), { kind: "bytes", value: 2 * 2 ** 30 });
  assert.deepEqual(parseMaxUnused("unlimited"), { kind: "unlimited" });
  assert.deepEqual(parseMaxUnused("100%"), { kind: "unlimited" });
  for (const bad of ["abc", "101%", "-1", "5%%", ""])
    assert.throws(
      () => parseMaxUnused(bad),
      (e) => isCofferError(e, "BAD_INPUT"),
      bad,
    );
  assert.equal(parseSize("500M"), 500 * 2 ** 20);
  assert.equal(parseSize("1.5k"), 1536);
  assert.equal(parseSize("10KiB"), 10240);
});

test("maxUnusedBytes() uses restic's p/(1-p) of the used bytes", () => {
  assert.equal(maxUnusedBytes(pct(50), 1000), 1000);
  assert.equal(maxUnusedBytes(pct(20), 800), 200);
  assert.equal(maxUnusedBytes({ kind: "bytes", value: 7 }, 1000), 7);
  assert.equal(maxUnusedBytes({ kind: "unlimited" }, 0), Infinity);
});

test("selectPacks() deletes wholly unused packs and repacks the most unused first until within the limit", () => {
  const packs = [
    p("a", 900, 100),
    p("b", 500, 500),
    p("c", 200, 800),
    p("d", 0, 1000),
    p("e", 1000, 0),
  ];
  // used 2600; 20% allows 650 unused; after deleting d, 1400 unused: c (80% unused) goes,
  // leaving 600.
  const s = selectPacks(packs, [{ id: "f".padEnd(64, "0"), size: 300 }], {
    maxUnused: pct(20),
    repackSmall: false,
    packSize: PACK,
  });
  assert.deepEqual(names(s.remove), ["d", "f"]);
  assert.deepEqual(names(s.repack), ["c"]);
  assert.equal(s.usedBytes, 2600);
  assert.equal(s.unusedBytes, 2700);
  assert.equal(s.unusedAfter, 600);
  assert.equal(s.repackBytes, 1000);
  assert.equal(s.repackUsedBytes, 200);
  const zero = selectPacks(packs, [], { maxUnused: pct(0), repackSmall: false, packSize: PACK });
  assert.deepEqual(names(zero.repack), ["c", "b", "a"], "most unused first");
  assert.ok(s.unusedAfter <= maxUnusedBytes(pct(20), s.usedBytes));
});

test("selectPacks() honours a byte limit, unlimited and --max-repack-size", () => {
  const packs = [p("a", 400, 100), p("b", 500, 500), p("c", 200, 800)];
  const o = { repackSmall: false, packSize: PACK };
  assert.deepEqual(
    names(selectPacks(packs, [], { ...o, maxUnused: { kind: "bytes", value: 600 } }).repack),
    ["c"],
  );
  assert.deepEqual(
    names(selectPacks(packs, [], { ...o, maxUnused: { kind: "bytes", value: 0 } }).repack),
    ["c", "b", "a"],
  );
  const none = selectPacks(packs, [], { ...o, maxUnused: { kind: "unlimited" } });
  assert.deepEqual(none.repack, []);
  assert.equal(none.unusedAfter, 1400);
  // The cap skips b (it would take the total to 2000 bytes) but still takes the smaller a.
  const capped = selectPacks(packs, [], { ...o, maxUnused: pct(0), maxRepackBytes: 1500 });
  assert.deepEqual(names(capped.repack), ["c", "a"]);
  assert.equal(capped.repackBytes, 1500);
});

test("selectPacks() with repackSmall repacks two or more small packs, or one alongside other repacks", () => {
  const o = { maxUnused: pct(5), repackSmall: true, packSize: PACK };
  assert.deepEqual(
    selectPacks([p("a", 300, 0), p("e", 1000, 0)], [], o).repack,
    [],
    "one small pack alone stays",
  );
  assert.deepEqual(
    names(selectPacks([p("a", 300, 0), p("b", 400, 0), p("e", 1000, 0)], [], o).repack),
    ["a", "b"],
  );
  assert.deepEqual(
    names(selectPacks([p("a", 300, 0), p("c", 200, 800)], [], o).repack),
    ["c", "a"],
    "a small pack joins a repack that happens anyway",
  );
  assert.deepEqual(
    selectPacks([p("a", 300, 0), p("b", 400, 0)], [], { ...o, repackSmall: false }).repack,
    [],
  );
});
