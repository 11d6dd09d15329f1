import assert from "node:assert/strict";
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { forgetSnapshots, readManifests } from "./forget.ts";
import { assertIntact, packBytes, pruneFixture } from "../testing/prune-fixture.ts";
import { prune } from "./prune.ts";

const T0 = Date.UTC(2026, 0, 1);
const ZERO = { kind: "percent", value: 0 } as const;

test("prune() with --max-unused 0 repacks partly used packs and shrinks the repository to the live data", async () => {
  const fx = await pruneFixture();
  try {
    fx.write("a.bin", "a", 100_000);
    fx.write("b.bin", "b", 100_000);
    fx.write("c.bin", "c", 100_000);
    // Small files share packs, so forgetting half of them leaves packs partly used (large
    // files tend to fill packs of their own, which become wholly unused instead).
    for (let k = 0; k < 20; k++) fx.write(`small-${k}.bin`, `small ${k}`, 1500);
    const s1 = await fx.snap(T0);
    fx.write("b.bin", "b2", 90_000);
    fx.write("d.bin", "d", 70_000);
    const s2 = await fx.snap(T0 + 1000);
    unlinkSync(join(fx.src, "a.bin"));
    for (let k = 0; k < 20; k += 2) unlinkSync(join(fx.src, `small-${k}.bin`));
    fx.write("e.bin", "e", 50_000);
    await fx.snap(T0 + 2000);
    let repo = await fx.open();
    await forgetSnapshots(repo, [s1, s2]);
    fx.expected.delete(s1);
    fx.expected.delete(s2);
    const before = await packBytes(repo);

    const dry = await prune(repo, {
      now: T0 + 10_000,
      graceMs: 1000,
      maxUnused: ZERO,
      dryRun: true,
    });
    assert.ok(dry.repacked.packs > 0, "dry run selects partly used packs");
    assert.equal(dry.unusedAfterBytes, 0);
    assert.equal(await packBytes(repo), before, "dry run writes nothing");
    assert.equal(dry.plan?.key, "(dry run)");

    const r1 = await prune(repo, { now: T0 + 10_000, graceMs: 1000, maxUnused: ZERO });
    assert.equal(r1.repacked.packs, dry.repacked.packs);
    assert.equal(r1.repacked.blobs, dry.repacked.blobs);
    assert.ok(r1.repacked.newPacks > 0);
    assert.ok(r1.unusedBytes > 0 && r1.usedBytes > 0);
    assert.equal(r1.unusedAfterBytes, 0);
    assert.ok(r1.manifestsRewritten >= 1, "the kept snapshot's manifest names a repacked pack");
    assert.ok(r1.plan !== undefined && r1.plan.candidates >= r1.repacked.packs);
    assert.equal(r1.deletedPacks.length, 0, "phase 1 deletes no pack");
    await assertIntact(fx, "after plan");

    repo = await fx.open();
    const r2 = await prune(repo, { now: T0 + 20_000, graceMs: 1000, maxUnused: ZERO });
    assert.equal(r2.deletedPacks.length, r1.plan.candidates);
    assert.deepEqual(r2.rescued, []);
    assert.equal(r2.repacked.packs, 0, "nothing left to repack");
    const after = await packBytes(repo);
    assert.ok(after < before, `${after} < ${before}`);
    await assertIntact(fx, "after execute");

    repo = await fx.open();
    const final = await prune(repo, {
      now: T0 + 30_000,
      graceMs: 1000,
      maxUnused: ZERO,
      dryRun: true,
    });
    assert.equal(final.unusedBytes, 0, "no unused bytes remain");
    assert.equal(final.plan, undefined);
    assert.equal(final.totalPacks, final.referencedPacks);
    const live = [...(fx.expected.values().next().value ?? new Map()).keys()].length;
    assert.equal(live, 14);
    // Live raw bytes are 100k + 90k + 70k + 50k + 10 × 1.5k; packs add sealing, headers and
    // the trees.
    assert.ok(after < 325_000 * 1.05, `repository holds ${after} bytes for 325000 live bytes`);
    const manifests = await readManifests(repo.storage);
    assert.equal(manifests.size, 1);
  } finally {
    fx.remove();
  }
});
