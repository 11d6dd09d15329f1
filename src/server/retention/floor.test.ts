import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { applyPolicy, parsePolicy, type RetentionSnapshot } from "../../retention/index.ts";
import { applyConfigDocument } from "../config.ts";
import { DAY, putSnapshot } from "../gc/testing.ts";
import { startTestGateway } from "../testing/harness.ts";
import { applyFloor, DEFAULT_RETENTION_FLOOR, FLOOR_DAILY_REASON } from "./floor.ts";
import { PolicyStore } from "./policy-store.ts";
import { runRetention } from "./run-retention.ts";

const snap = (id: string, time: number): RetentionSnapshot => ({
  id,
  time,
  host: "h",
  tags: [],
  paths: [],
});

describe("retention floor", () => {
  test("keep-last 3: three junk snapshots from the source's own keys do not get the real ones filed", async () => {
    const gw = await startTestGateway();
    try {
      const c = await gw.addSource("floor-01");
      const md = gw.running.metadata;
      const src = await md.sources.require("floor-01");
      await new PolicyStore(md.db).set(c.bucket, { keepLast: 3 }, "test", Date.now());
      const base = Date.now() - 3 * DAY;
      const real: string[] = [];
      for (let d = 0; d < 3; d++) {
        gw.clockOffset = base + d * DAY - Date.now();
        real.push(await putSnapshot(gw, c, `real ${d}`, []));
      }
      gw.clockOffset = 0;
      for (let i = 0; i < 3; i++) await putSnapshot(gw, c, `junk ${i}`, []);
      const r = await runRetention(md, src, { now: Date.now(), minDelayMs: 14 * DAY });
      assert.ok(r !== undefined);
      assert.deepEqual(r.filed, []);
      assert.equal((await md.deletions.list({ bucket: c.bucket, state: "PENDING" })).length, 0);
      // Without the floor (an operator's explicit choice) the count rule alone decides.
      const bare = await runRetention(md, src, {
        now: Date.now(),
        minDelayMs: 14 * DAY,
        dryRun: true,
        floor: { minAgeMs: 0, days: 0 },
      });
      assert.deepEqual(new Set(bare?.filed), new Set(real));
    } finally {
      gw.clockOffset = 0;
      await gw.close();
    }
  });

  test("backups stopped a month ago: the newest of each of the last 7 backup days stays", () => {
    const now = Date.UTC(2026, 5, 30, 12);
    const snaps: RetentionSnapshot[] = [];
    // Two snapshots a day from June 1 to June 10, then nothing.
    for (let d = 1; d <= 10; d++) {
      snaps.push(
        snap(`d${d}-am`, Date.UTC(2026, 5, d, 1)),
        snap(`d${d}-pm`, Date.UTC(2026, 5, d, 13)),
      );
    }
    const decision = applyPolicy(snaps, parsePolicy({ keepLast: 1 }), { now, anchor: "latest" });
    const floored = applyFloor(decision, snaps, DEFAULT_RETENTION_FLOOR, now, "UTC");
    const g = floored.groups[0];
    assert.ok(g !== undefined);
    assert.deepEqual(
      g.keep.map((k) => k.id),
      ["d10-pm", "d9-pm", "d8-pm", "d7-pm", "d6-pm", "d5-pm", "d4-pm"],
    );
    assert.deepEqual(g.keep[1]?.reasons, [FLOOR_DAILY_REASON]);
    assert.equal(g.forget.length, 13);
  });

  test("the floor only adds keeps: what the policy keeps stays kept", () => {
    const now = Date.UTC(2026, 0, 31);
    const snaps = [0, 10, 20, 30].map((d) => snap(`s${d}`, now - d * DAY));
    const decision = applyPolicy(snaps, parsePolicy({ keepLast: 4 }), { now });
    const floored = applyFloor(decision, snaps, { minAgeMs: 0, days: 1 }, now, "UTC");
    assert.deepEqual(floored.groups[0]?.forget, []);
  });

  test("config: retention.floor is parsed, validated, and defaults to 7d / 7 days", () => {
    assert.deepEqual(applyConfigDocument({}, "f").retentionFloor, {
      minAgeMs: 7 * DAY,
      days: 7,
    });
    assert.deepEqual(
      applyConfigDocument({ retention: { floor: { minAge: "3d", days: 2 } } }, "f").retentionFloor,
      { minAgeMs: 3 * DAY, days: 2 },
    );
    assert.throws(
      () => applyConfigDocument({ retention: { floor: { days: -1 } } }, "f.yaml"),
      /Invalid config f\.yaml: retention\.floor\.days must be a whole number/,
    );
    assert.throws(
      () => applyConfigDocument({ retention: { flor: {} } }, "f.yaml"),
      /unknown field "retention\.flor"/,
    );
  });
});
