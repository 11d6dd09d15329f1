import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { startTestGateway, type TestGateway } from "../testing/harness.ts";
import { writeAnchor } from "./anchors.ts";
import { appendTx, AuditLog } from "./audit-log.ts";
import { verifyAudit } from "./verify.ts";

const DAY = 86_400_000;
const RETENTION = 400 * DAY;

async function entries(gw: TestGateway, times: number[], anchorEach: boolean): Promise<AuditLog> {
  const audit = new AuditLog(gw.running.metadata.db);
  const storage = gw.running.gateway.deps.objects.storage;
  for (const t of times) {
    await audit.append({ time: t, credential: "gateway", action: "test.entry", result: "ok" });
    if (anchorEach) await writeAnchor(audit, storage, t);
  }
  return audit;
}

/** Deletes entries 1..lastOld and appends a chain-correct audit.prune, as an attacker could. */
async function forgePrune(gw: TestGateway, lastOld: number, cutoff: number, now: number) {
  const db = gw.running.metadata.db;
  await db.transaction(async (tx) => {
    const b = await tx.get<{ hash: string }>("SELECT hash FROM audit_log WHERE seq = ?", [lastOld]);
    await appendTx(tx, [
      {
        time: now,
        credential: "gateway",
        action: "audit.prune",
        result: "ok",
        detail: { firstKept: lastOld + 1, prevHash: b?.hash, cutoff },
      },
    ]);
    await tx.run("DELETE FROM audit_log WHERE seq <= ?", [lastOld]);
  });
}

describe("verifyAudit: audit.prune records", () => {
  test("a forged prune of recent, anchored entries is detected through the anchors' times", async () => {
    const gw = await startTestGateway({ audit: { anchorDelay: "1m" } });
    try {
      const now = Date.now();
      await entries(
        gw,
        [
          now - 50 * 60_000,
          now - 40 * 60_000,
          now - 30 * 60_000,
          now - 20 * 60_000,
          now - 10 * 60_000,
        ],
        true,
      );
      const head = (await new AuditLog(gw.running.metadata.db).head()).seq;
      // The attacker claims an old cutoff (as an honest 400-day prune would have).
      await forgePrune(gw, head - 2, now - RETENTION - DAY, now);
      const storage = gw.running.gateway.deps.objects.storage;
      const r = await verifyAudit(gw.running.metadata.db, storage, { retentionMs: RETENTION });
      assert.equal(r.ok, false);
      assert.ok(
        r.problems.some((p) =>
          /audit\.prune at seq \d+ removed entries written after anchor audit-anchors\/\d+-[0-9a-f]+ .*\(forged prune\)/.test(
            p.message,
          ),
        ),
        JSON.stringify(r.problems),
      );
    } finally {
      await gw.close();
    }
  });

  test("a prune whose cutoff is within the configured retention is refused", async () => {
    const gw = await startTestGateway();
    try {
      const now = Date.now();
      await entries(gw, [now - 3 * DAY, now - 2 * DAY, now - DAY], false);
      await forgePrune(gw, 2, now - DAY, now);
      const r = await verifyAudit(gw.running.metadata.db, undefined, { retentionMs: RETENTION });
      assert.equal(r.ok, false);
      assert.match(
        r.problems.map((p) => p.message).join("\n"),
        /removed entries newer than the audit retention allows \(cutoff .* is less than 400d before the prune/,
      );
    } finally {
      await gw.close();
    }
  });

  test("an honest prune of entries past retention passes, anchors included", async () => {
    const gw = await startTestGateway();
    try {
      const now = Date.now();
      const audit = await entries(
        gw,
        [now - 500 * DAY, now - 450 * DAY, now - 420 * DAY, now - 10 * DAY, now - DAY],
        true,
      );
      const removed = await audit.prune(now - RETENTION, now);
      assert.ok(removed >= 3, String(removed));
      const storage = gw.running.gateway.deps.objects.storage;
      const r = await verifyAudit(gw.running.metadata.db, storage, { retentionMs: RETENTION });
      assert.equal(r.ok, true, JSON.stringify(r.problems));
    } finally {
      await gw.close();
    }
  });
});
