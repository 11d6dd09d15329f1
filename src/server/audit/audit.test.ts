import Database from "better-sqlite3";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { startTestGateway } from "../testing/harness.ts";
import type { AuditRow } from "./audit-log.ts";
import { verifyAudit } from "./verify.ts";

test("every S3 request, refused and unauthenticated ones included, is audited with source, credential, key, bytes and result", async () => {
  const gw = await startTestGateway();
  try {
    const c = await gw.addSource("web-01");
    assert.equal(
      (await gw.signed(c, { method: "PUT", path: "/web-01/data/ab/1", body: "hello" })).status,
      200,
    );
    assert.equal((await gw.signed(c, { method: "GET", path: "/web-01/data/ab/1" })).status, 200);
    assert.equal(
      (await gw.signed(c, { method: "PUT", path: "/web-01/data/ab/1", body: "other" })).status,
      409,
    );
    assert.equal((await gw.raw({ method: "GET", path: "/web-01/data/ab/1" })).status, 403);
    assert.equal(
      (await gw.signed({ ...c, secretAccessKey: "wrong" }, { method: "GET", path: "/web-01/" }))
        .status,
      403,
    );
    const del = await gw.signed(c, { method: "DELETE", path: "/web-01/data/ab/1" });
    assert.equal(del.headers["x-coffer-deletion"], "pending");
    const rows =
      gw.running.monitor.audit === undefined
        ? []
        : await gw.running.monitor.audit.page({ source: "web-01" });
    const brief = rows.map((e) => [e.action, e.result, e.key, e.bytes, e.errorCode]);
    assert.deepEqual(brief, [
      ["PutObject", "started", "data/ab/1", 5, null],
      ["PutObject", "ok", "data/ab/1", 5, null],
      ["GetObject", "ok", "data/ab/1", 5, null],
      ["PutObject", "started", "data/ab/1", 5, null],
      ["PutObject", "refused", "data/ab/1", 5, "ObjectImmutable"],
      ["DeleteObject", "started", "data/ab/1", null, null],
      ["DeleteObject", "ok", "data/ab/1", null, null],
      ["deletion.requested", "ok", "data/ab/1", null, null],
    ]);
    assert.ok(
      rows.every(
        (e) =>
          e.credential === c.accessKeyId &&
          e.clientIp === "127.0.0.1" &&
          /^[0-9A-F]{16}$/.test(e.requestId ?? ""),
      ),
    );
    assert.equal(rows[6]?.detail?.deletionId, Number(del.headers["x-coffer-deletion-id"]));
    const all = await gw.running.monitor.audit?.page({});
    const anon = all?.find((e) => e.source === null && e.action === "GetObject");
    assert.deepEqual(
      [anon?.result, anon?.errorCode, anon?.credential],
      ["refused", "AccessDenied", null],
    );
    const forged = all?.find((e) => e.errorCode === "SignatureDoesNotMatch");
    assert.equal(forged?.credential, c.accessKeyId);
  } finally {
    await gw.close();
  }
});

test("audit verify finds an edited, a deleted, a reordered entry and a tail truncated after an anchor, by seq", async () => {
  const gw = await startTestGateway();
  try {
    const c = await gw.addSource("web-01");
    for (let i = 0; i < 4; i++)
      await gw.signed(c, { method: "PUT", path: `/web-01/k/${i}`, body: `body ${i}` });
    await gw.running.monitor.housekeeping();
    const storage = gw.running.gateway.deps.objects.storage;
    const db = gw.running.metadata.db;
    const clean = await verifyAudit(db, storage);
    assert.equal(clean.ok, true, JSON.stringify(clean.problems));
    assert.equal(clean.anchors, 1);
    assert.equal(clean.lastAnchor?.seq, clean.headSeq);
    const sql = new Database(join(gw.dataDir, "metadata.sqlite"));
    const row = (seq: number) =>
      sql.prepare("SELECT * FROM audit_log WHERE seq = ?").get(seq) as AuditRow;
    const put = (r: AuditRow, seq = Number(r.seq)) =>
      sql
        .prepare(
          "INSERT OR REPLACE INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .run(
          seq,
          r.time,
          r.request_id,
          r.source,
          r.credential,
          r.client_ip,
          r.action,
          r.object_key,
          r.bytes,
          r.result,
          r.error_code,
          r.detail,
          r.prev_hash,
          r.hash,
        );
    const problems = async () =>
      (await verifyAudit(db, storage)).problems.map((p) => [p.seq, p.message]);
    // 1. edit: change the bytes of entry 3
    const r3 = row(3);
    sql.prepare("UPDATE audit_log SET bytes = 1 WHERE seq = 3").run();
    assert.deepEqual(await problems(), [
      [3, "entry 3 was modified or reordered (its content does not match its hash)"],
    ]);
    put(r3);
    // 2. delete entry 4
    const r4 = row(4);
    sql.prepare("DELETE FROM audit_log WHERE seq = 4").run();
    assert.deepEqual((await problems())[0], [5, "entries 4..4 are missing (deleted)"]);
    put(r4);
    // 3. reorder: swap the contents of entries 5 and 6
    const [r5, r6] = [row(5), row(6)];
    put(r6, 5);
    put(r5, 6);
    const swapped = await problems();
    assert.deepEqual(
      swapped.map((p) => p[0]),
      [5, 5, 6, 6, 7],
    );
    assert.match(String(swapped[0]?.[1]), /entry 5 does not link to entry 4/);
    put(r5);
    put(r6);
    assert.equal((await verifyAudit(db, storage)).ok, true);
    // 4. truncate the tail after the anchor
    sql.prepare("DELETE FROM audit_log WHERE seq > ?").run(clean.headSeq - 2);
    assert.deepEqual(await problems(), [
      [
        clean.headSeq,
        `entries ${clean.headSeq - 1}..${clean.headSeq} are missing: anchor audit-anchors/${String(clean.headSeq).padStart(12, "0")}-${clean.lastAnchor.hash} records seq ${clean.headSeq} but the log ends at ${clean.headSeq - 2} (truncated)`,
      ],
    ]);
    sql.close();
  } finally {
    await gw.close();
  }
});

test("a PUT fails with 500 and stores nothing when its audit entry cannot be written", async () => {
  const gw = await startTestGateway();
  try {
    const c = await gw.addSource("web-01");
    const sql = new Database(join(gw.dataDir, "metadata.sqlite"));
    sql.exec(
      "CREATE TRIGGER audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit storage unavailable'); END",
    );
    const r = await gw.signed(c, { method: "PUT", path: "/web-01/data/x", body: "payload" });
    assert.equal(r.status, 500);
    assert.match(r.body.toString(), /<Code>InternalError<\/Code>/);
    sql.exec("DROP TRIGGER audit_down");
    sql.close();
    assert.equal(existsSync(join(gw.dataDir, "objects", "buckets", "web-01", "data", "x")), false);
    assert.equal(await gw.running.metadata.objects.get("web-01", "data/x"), undefined);
    assert.equal((await gw.signed(c, { method: "GET", path: "/web-01/data/x" })).status, 404);
  } finally {
    await gw.close();
  }
});

test("audit retention shorter than a source's deletion delay is refused; pruning keeps the chain verifiable", async () => {
  const gw = await startTestGateway({ audit: { retention: "30d" } });
  try {
    const c = await gw.addSource("web-01");
    for (let i = 0; i < 3; i++)
      await gw.signed(c, { method: "PUT", path: `/web-01/p/${i}`, body: `b${i}` });
    const audit = gw.running.monitor.audit;
    assert.ok(audit);
    const before = await audit.head();
    const removed = await audit.prune(Date.now() + 1, Date.now());
    assert.equal(removed, before.seq - 1);
    const rep = await verifyAudit(gw.running.metadata.db, undefined);
    assert.equal(rep.ok, true, JSON.stringify(rep.problems));
    assert.equal(rep.firstSeq, before.seq);
    await gw.running.metadata.db.run(
      "UPDATE sources SET deletion_delay_ms = ? WHERE name = 'web-01'",
      [60 * 86_400_000],
    );
    const { startMonitor } = await import("./monitor.ts");
    await assert.rejects(
      startMonitor({
        cfg: gw.running.gateway.deps.config,
        metadata: gw.running.metadata,
        storage: gw.running.gateway.deps.objects.storage,
        gateway: gw.running.gateway,
        clock: { now: () => Date.now() },
      }),
      /audit.retention \(30d\) is shorter than the longest deletion delay \(60d\)/,
    );
  } finally {
    await gw.close();
  }
});
