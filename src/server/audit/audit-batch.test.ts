import Database from "better-sqlite3";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SqliteDialect } from "../db/sqlite.ts";
import { migrate } from "../db/migrations.ts";
import { startTestGateway } from "../testing/harness.ts";
import { AuditLog } from "./audit-log.ts";
import { verifyAudit } from "./verify.ts";

async function freshLog(): Promise<{
  db: SqliteDialect;
  audit: AuditLog;
  path: string;
  close(): Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), "coffer-audit-batch-"));
  const path = join(dir, "m.sqlite");
  const db = new SqliteDialect(path);
  await migrate(db, Date.now());
  return {
    db,
    audit: new AuditLog(db),
    path,
    close: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test("AuditLog.append() group-commits concurrent appends: fewer transactions, each caller's entries contiguous, chain intact", async () => {
  const l = await freshLog();
  try {
    const calls = Array.from({ length: 40 }, (_, i) =>
      l.audit.append(
        { time: i, action: "PutObject", result: "started", key: `k/${i}` },
        { time: i, action: "PutObject", result: "ok", key: `k/${i}` },
      ),
    );
    const results = await Promise.all(calls);
    results.forEach((entries, i) => {
      assert.deepEqual(
        entries.map((e) => [e.key, e.result]),
        [
          [`k/${i}`, "started"],
          [`k/${i}`, "ok"],
        ],
      );
      const [first, second] = entries;
      assert.ok(first && second);
      assert.equal(second.seq, first.seq + 1);
      assert.equal(second.prevHash, first.hash);
    });
    assert.deepEqual(
      results.flat().map((e) => e.seq),
      Array.from({ length: 80 }, (_, i) => i + 1),
    );
    assert.equal(l.audit.stats.entries, 80);
    assert.ok(
      l.audit.stats.transactions < 40,
      `expected batching, got ${l.audit.stats.transactions} transactions for 40 appends`,
    );
    const rep = await verifyAudit(l.db, undefined);
    assert.equal(rep.ok, true, JSON.stringify(rep.problems));
    assert.equal(rep.headSeq, 80);
  } finally {
    await l.close();
  }
});

test("AuditLog.append(): when a batch rolls back, only the caller whose entry the database refuses fails; the others commit", async () => {
  const l = await freshLog();
  try {
    await l.audit.append({ time: 1, action: "server.start", result: "ok" });
    const sql = new Database(l.path);
    sql.exec(
      "CREATE TRIGGER audit_down BEFORE INSERT ON audit_log WHEN NEW.action = 'boom' BEGIN SELECT RAISE(ABORT, 'audit storage unavailable'); END",
    );
    const batch = await Promise.allSettled([
      l.audit.append({ time: 2, action: "PutObject", result: "started" }),
      l.audit.append({ time: 2, action: "boom", result: "started" }),
      l.audit.append({ time: 2, action: "PutObject", result: "started" }),
    ]);
    assert.deepEqual(
      batch.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    assert.match(String((batch[1] as PromiseRejectedResult).reason), /audit storage unavailable/);
    assert.deepEqual(sql.prepare("SELECT seq, action FROM audit_log ORDER BY seq").all(), [
      { seq: 1, action: "server.start" },
      { seq: 2, action: "PutObject" },
      { seq: 3, action: "PutObject" },
    ]);
    sql.exec("DROP TRIGGER audit_down");
    sql.close();
    const [after] = await l.audit.append({ time: 3, action: "PutObject", result: "ok" });
    assert.equal(after?.seq, 4);
    assert.equal((await verifyAudit(l.db, undefined)).ok, true);
  } finally {
    await l.close();
  }
});

test("AuditLog.append() fails only the caller whose entry cannot be encoded, not its batch", async () => {
  const l = await freshLog();
  try {
    const r = await Promise.allSettled([
      l.audit.append({ time: 1, action: "a", result: "ok" }),
      l.audit.append({ time: 1, action: "b", result: "ok", detail: { n: 1n } }),
      l.audit.append({ time: 1, action: "c", result: "ok" }),
    ]);
    assert.deepEqual(
      r.map((x) => x.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    assert.deepEqual(
      (await l.audit.page({})).map((e) => e.action),
      ["a", "c"],
    );
  } finally {
    await l.close();
  }
});

test("concurrent PUTs each get a started entry before their outcome and the chain verifies (group commit through the gateway)", async () => {
  const gw = await startTestGateway();
  try {
    const c = await gw.addSource("web-01");
    const res = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        gw.signed(c, { method: "PUT", path: `/web-01/data/${i}`, body: `body ${i}` }),
      ),
    );
    assert.deepEqual(
      res.map((r) => r.status),
      Array(24).fill(200),
    );
    const rows = (await gw.running.monitor.audit?.page({ source: "web-01" })) ?? [];
    for (let i = 0; i < 24; i++) {
      const mine = rows.filter((e) => e.key === `data/${i}`);
      assert.deepEqual(
        mine.map((e) => e.result),
        ["started", "ok"],
      );
      assert.equal(mine[0]?.requestId, mine[1]?.requestId);
    }
    const rep = await verifyAudit(gw.running.metadata.db, gw.running.gateway.deps.objects.storage);
    assert.equal(rep.ok, true, JSON.stringify(rep.problems));
  } finally {
    await gw.close();
  }
});

test("DeleteObjects records one deletion.requested entry per key, with its deletion ID", async () => {
  const gw = await startTestGateway();
  try {
    const c = await gw.addSource("web-01");
    for (const k of ["a", "b", "c"])
      assert.equal(
        (await gw.signed(c, { method: "PUT", path: `/web-01/data/${k}`, body: k })).status,
        200,
      );
    const xml =
      "<Delete><Object><Key>data/a</Key></Object><Object><Key>data/b</Key></Object><Object><Key>data/missing</Key></Object><Object><Key>data/c</Key></Object></Delete>";
    const r = await gw.signed(c, {
      method: "POST",
      path: "/web-01",
      query: "delete=",
      body: xml,
      headers: { "content-md5": createHash("md5").update(xml).digest("base64") },
    });
    assert.equal(r.status, 200, r.body.toString());
    const ids = [
      ...r.body
        .toString()
        .matchAll(
          /<Key>(data\/\w)<\/Key><CofferDeletion>pending<\/CofferDeletion><CofferDeletionId>(\d+)</g,
        ),
    ].map((m) => [m[1], Number(m[2])]);
    assert.equal(ids.length, 3);
    const rows = (await gw.running.monitor.audit?.page({ source: "web-01" })) ?? [];
    const outcome = rows.find((e) => e.action === "DeleteObjects" && e.result === "ok");
    assert.equal(outcome?.detail?.deletionsPending, 3);
    const req = rows.filter((e) => e.action === "deletion.requested");
    assert.deepEqual(
      req.map((e) => [e.key, e.detail?.deletionId]),
      ids,
    );
    assert.ok(
      req.every(
        (e) =>
          e.requestId === outcome.requestId &&
          e.credential === c.accessKeyId &&
          typeof e.detail?.executeAfter === "string",
      ),
    );
  } finally {
    await gw.close();
  }
});

test("audit.anchorEvery anchors the head every N entries, so deleting the newest entries is caught down to the last anchor", async () => {
  const gw = await startTestGateway({ audit: { anchorEvery: 4 } });
  try {
    const c = await gw.addSource("web-01");
    for (let i = 0; i < 8; i++)
      assert.equal(
        (await gw.signed(c, { method: "PUT", path: `/web-01/k/${i}`, body: `b${i}` })).status,
        200,
      );
    const storage = gw.running.gateway.deps.objects.storage;
    const db = gw.running.metadata.db;
    const rep = await verifyAudit(db, storage);
    assert.equal(rep.ok, true, JSON.stringify(rep.problems));
    // 1 start + 8 × (started, ok) = 17 entries; an anchor at least every 4 + the background lag of one batch.
    assert.ok(rep.anchors >= 3, `expected >= 3 anchors, got ${rep.anchors}`);
    assert.ok(
      rep.headSeq - (rep.lastAnchor?.seq ?? 0) <= 5,
      `head ${rep.headSeq}, last anchor ${rep.lastAnchor?.seq ?? 0}`,
    );
    // Delete the newest entries down to (and including) the last anchored one: detected.
    const last = rep.lastAnchor?.seq ?? 0;
    const sql = new Database(join(gw.dataDir, "metadata.sqlite"));
    sql.prepare("DELETE FROM audit_log WHERE seq >= ?").run(last);
    sql.close();
    const cut = await verifyAudit(db, storage);
    assert.equal(cut.ok, false);
    assert.match(
      cut.problems.map((p) => p.message).join("\n"),
      new RegExp(
        `entries ${last}\\.\\.${last} are missing: anchor .* records seq ${last} but the log ends at ${last - 1} \\(truncated\\)`,
      ),
    );
  } finally {
    await gw.close();
  }
});
