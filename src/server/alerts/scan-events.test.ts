import assert from "node:assert/strict";
import { test } from "node:test";
import { statusObject } from "../../cli/report-status.ts";
import { startTestGateway } from "../testing/harness.ts";

test("scanEvents() raises a failed alert from a sealed (v2) status with only its result and code", async () => {
  const gw = await startTestGateway();
  try {
    const c = await gw.addSource("status-01");
    const body = JSON.stringify(
      statusObject(
        {
          ok: false,
          message: "Cannot read /home/alice/x",
          tags: ["db:postgres:shop"],
          host: "db-01",
          time: "2026-01-17T03:00:00.000Z",
          code: "COMMAND_FAILED",
        },
        { key: Buffer.alloc(32, 1) },
      ),
    );
    const r = await gw.signed(c, { method: "PUT", path: `/${c.bucket}/status/x.json`, body });
    assert.equal(r.status, 200);
    await gw.running.monitor.alerter.tick();
    const [alert] = await gw.running.monitor.alerter.alerts.list({ source: c.bucket });
    assert.equal(alert?.kind, "failed");
    assert.equal(
      alert.detail?.message,
      "failure (COMMAND_FAILED); details are sealed in the repository",
    );
    assert.ok(!JSON.stringify(alert).includes("/home/alice"));
  } finally {
    await gw.close();
  }
});
