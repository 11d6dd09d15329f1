import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DAY, putSnapshot } from "../gc/testing.ts";
import { PolicyStore } from "../retention/policy-store.ts";
import { runRetention } from "../retention/run-retention.ts";
import { startTestGateway, type TestGateway } from "../testing/harness.ts";

const NO_FLOOR = { minAgeMs: 0, days: 0 };

async function kinds(gw: TestGateway, source: string): Promise<string[]> {
  await gw.running.monitor.alerter.tick();
  return (await gw.running.monitor.alerter.alerts.list({ source })).map((a) => a.kind);
}

describe("scanRetentionRisks", () => {
  test("a burst of snapshots far above a source's daily average raises one burst alert", async () => {
    const gw = await startTestGateway();
    try {
      const c = await gw.addSource("burst-01");
      const base = Date.now() - 9 * DAY;
      for (let d = 0; d < 8; d++) {
        gw.clockOffset = base + d * DAY - Date.now();
        await putSnapshot(gw, c, `daily ${d}`, []);
      }
      gw.clockOffset = 0;
      assert.deepEqual(await kinds(gw, c.bucket), []);
      // The real daily one, then three junk snapshots from the same keys.
      for (const label of ["real", "junk 1", "junk 2"]) await putSnapshot(gw, c, label, []);
      assert.deepEqual(await kinds(gw, c.bucket), []); // 3 in 24h: within max(2×1, 1+2)
      await putSnapshot(gw, c, "junk 3", []);
      await putSnapshot(gw, c, "junk 4", []);
      assert.deepEqual(await kinds(gw, c.bucket), ["burst"]); // same day: one alert
      const [alert] = await gw.running.monitor.alerter.alerts.list({ source: c.bucket });
      assert.match(alert?.summary ?? "", /burst-01: burst of \d snapshots in 24 hours/);
    } finally {
      gw.clockOffset = 0;
      await gw.close();
    }
  });

  test("a burst is measured against the source's expectation when it has one", async () => {
    const gw = await startTestGateway();
    try {
      const c = await gw.addSource("burst-02");
      const now = Date.now();
      await gw.running.monitor.alerter.expectations.set({
        source: c.bucket,
        group: "default",
        tagMatch: null,
        cron: null,
        tz: "UTC",
        everyMs: 3_600_000,
        graceMs: 600_000,
        downAfter: { slots: 3 },
        createdAt: now,
      });
      // Hourly: 24 expected a day; 10 in a row is no burst.
      for (let i = 0; i < 10; i++) await putSnapshot(gw, c, `hourly ${i}`, []);
      assert.deepEqual(await kinds(gw, c.bucket), []);
    } finally {
      await gw.close();
    }
  });

  test("a retention pass filing more than half of a source's snapshots raises an alert", async () => {
    const gw = await startTestGateway();
    try {
      const md = gw.running.metadata;
      const quiet = await gw.addSource("share-ok");
      const loud = await gw.addSource("share-hi");
      const base = Date.now() - 20 * DAY;
      for (let d = 0; d < 10; d++) {
        gw.clockOffset = base + d * DAY - Date.now();
        await putSnapshot(gw, quiet, `q ${d}`, []);
        await putSnapshot(gw, loud, `l ${d}`, []);
      }
      gw.clockOffset = 0;
      const policies = new PolicyStore(md.db);
      await policies.set(quiet.bucket, { keepLast: 6 }, "test", Date.now());
      await policies.set(loud.bucket, { keepLast: 2 }, "test", Date.now());
      const o = { now: Date.now(), minDelayMs: 14 * DAY, floor: NO_FLOOR };
      assert.equal(
        (await runRetention(md, await md.sources.require("share-ok"), o))?.filed.length,
        4,
      );
      assert.equal(
        (await runRetention(md, await md.sources.require("share-hi"), o))?.filed.length,
        8,
      );
      assert.deepEqual(await kinds(gw, quiet.bucket), []);
      assert.deepEqual(await kinds(gw, loud.bucket), ["retention-share"]);
      const [alert] = await gw.running.monitor.alerter.alerts.list({ source: loud.bucket });
      assert.equal(
        alert?.summary,
        "[coffer] share-hi: retention filed 80% of its snapshots for deletion",
      );
    } finally {
      gw.clockOffset = 0;
      await gw.close();
    }
  });
});
