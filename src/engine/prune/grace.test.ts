// `prune --grace` applies to every plan, and a prune removes the temp files of dead writers.
import assert from "node:assert/strict";
import { readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { currentTempOwner } from "../../storage/temp-owner.ts";
import { forgetSnapshots } from "./forget.ts";
import { assertIntact, packBytes, pruneFixture } from "../testing/prune-fixture.ts";
import { prune } from "./prune.ts";

const T0 = Date.UTC(2026, 0, 1);
const ZERO = { kind: "percent", value: 0 } as const;

test("prune with an explicit grace executes an earlier plan written with the default 6 h grace", async () => {
  const fx = await pruneFixture();
  try {
    fx.write("a.bin", "a", 200_000);
    const s1 = await fx.snap(T0);
    fx.write("a.bin", "a2", 200_000);
    await fx.snap(T0 + 1000);
    await forgetSnapshots(await fx.open(), [s1]);
    fx.expected.delete(s1);
    const before = await packBytes(await fx.open());
    // The first prune plans with the default grace (6 h) ...
    const first = await prune(await fx.open(), { now: T0 + 2000, maxUnused: ZERO });
    assert.ok(first.plan !== undefined && first.plan.candidates > 0);
    // ... and "reclaim all now" (docs/cli.md: --grace 0s executes plans older than 0 s).
    const second = await prune(await fx.open(), { now: T0 + 3000, graceMs: 0, maxUnused: ZERO });
    assert.ok(second.deletedPacks.length > 0, "the earlier plan was executed");
    assert.equal(second.waitingPlans, 0);
    assert.ok((await packBytes(await fx.open())) < before);
    // Without --grace, a plan keeps the grace it was written with.
    fx.write("a.bin", "a3", 200_000);
    const s3 = await fx.snap(T0 + 4000);
    await forgetSnapshots(await fx.open(), [s3]);
    fx.expected.delete(s3);
    await prune(await fx.open(), { now: T0 + 5000, maxUnused: ZERO });
    const third = await prune(await fx.open(), { now: T0 + 6000, maxUnused: ZERO });
    assert.deepEqual(third.deletedPacks, []);
    assert.equal(third.waitingPlans, 1);
    await assertIntact(fx, "after reclaim");
  } finally {
    fx.remove();
  }
});

test("prune removes temp files of dead writers under tmp/ and keeps a live writer's", async () => {
  const fx = await pruneFixture();
  try {
    fx.write("a.bin", "a", 50_000);
    await fx.snap(T0);
    const tmp = join(fx.repoDir, "tmp");
    const me = currentTempOwner();
    // A writer that no longer exists on this machine (PIDs above pid_max never exist) ...
    const dead = `${me.tag}-4194305-${"ab".repeat(16)}`;
    // ... one that is alive (this process) ...
    const live = `${me.tag}-${String(process.pid)}-${"cd".repeat(16)}`;
    // ... an old-style name, modified two days ago, and a fresh one from another machine.
    const old = "ef".repeat(16);
    const otherHost = `000000000000-4194305-${"12".repeat(16)}`;
    for (const n of [dead, live, old, otherHost]) writeFileSync(join(tmp, n), "partial pack");
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(join(tmp, old), twoDaysAgo, twoDaysAgo);
    const dry = await prune(await fx.open(), { now: T0 + 1000, dryRun: true });
    assert.equal(dry.staleTempFiles, 0);
    assert.equal(readdirSync(tmp).length, 4, "a dry run changes nothing");
    const r = await prune(await fx.open(), { now: T0 + 1000 });
    assert.equal(r.staleTempFiles, 2);
    assert.deepEqual(readdirSync(tmp).sort(), [live, otherHost].sort());
    await assertIntact(fx, "after temp cleanup");
  } finally {
    fx.remove();
  }
});
