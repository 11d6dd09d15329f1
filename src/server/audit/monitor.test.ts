import Database from "better-sqlite3";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { signRequest } from "../../sigv4/sign-request.ts";
import { applyConfigDocument } from "../config.ts";
import { startTestGateway } from "../testing/harness.ts";
import { listAnchors } from "./anchors.ts";
import { AuditLog } from "./audit-log.ts";

async function until(what: string, fn: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe("audit monitor anchoring", () => {
  test("audit.anchorDelay defaults to one minute and may not exceed it", () => {
    assert.equal(applyConfigDocument({}, "f").audit.anchorDelayMs, 60_000);
    assert.throws(
      () => applyConfigDocument({ audit: { anchorDelay: "1h" } }, "f.yaml"),
      /audit\.anchorDelay must be at most 1m/,
    );
  });

  test("a new entry is anchored after anchorDelay, without waiting for the hourly anchor", async () => {
    const gw = await startTestGateway({ audit: { anchorDelay: "0.2s", anchorInterval: "1h" } });
    try {
      const c = await gw.addSource("anc-01");
      await gw.signed(c, { method: "PUT", path: `/${c.bucket}/a`, body: "a" });
      const audit = new AuditLog(gw.running.metadata.db);
      const storage = gw.running.gateway.deps.objects.storage;
      await until("the head to be anchored", async () => {
        const head = (await audit.head()).seq;
        return (await listAnchors(storage)).anchors.some((x) => x.seq === head);
      });
      // A maintenance pass (run.ts) anchors at once through monitor.anchor().
      await gw.signed(c, { method: "PUT", path: `/${c.bucket}/b`, body: "b" });
      await gw.running.monitor.anchor();
      const head = (await audit.head()).seq;
      assert.ok((await listAnchors(storage)).anchors.some((x) => x.seq === head));
    } finally {
      await gw.close();
    }
  });

  test("shutdown drains requests in flight before the final entry and anchor", async () => {
    const gw = await startTestGateway();
    const c = await gw.addSource("anc-02");
    const storage = gw.running.gateway.deps.objects.storage;
    // An upload that announces 1000 bytes and sends 10: in flight until its connection ends.
    const sock = connect(gw.port, "127.0.0.1");
    await new Promise<void>((r) =>
      sock.once("connect", () => {
        r();
      }),
    );
    sock.on("error", () => undefined);
    // Signed (an unauthenticated body is refused without being read, so never in flight).
    const signed = signRequest(
      {
        method: "PUT",
        path: `/${c.bucket}/slow`,
        query: "",
        headers: { host: gw.host, "content-length": "1000" },
        payloadHash: "UNSIGNED-PAYLOAD",
      },
      { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
      { region: "us-east-1", time: Date.now() },
    );
    sock.write(
      `PUT /${c.bucket}/slow HTTP/1.1\r\n` +
        Object.entries(signed.headers)
          .map(([k, v]) => `${k}: ${String(v)}\r\n`)
          .join("") +
        "\r\n0123456789",
    );
    await until("the request to be in flight", () =>
      Promise.resolve(gw.running.gateway.inFlight > 0),
    );
    const closing = gw.running.close();
    // The client gives up only after shutdown began: its request's entry must still come
    // before server.stop and be covered by the final anchor.
    await new Promise((r) => setTimeout(r, 100));
    sock.destroy();
    await closing;
    const sql = new Database(join(gw.dataDir, "metadata.sqlite"), { readonly: true });
    const rows = sql
      .prepare("SELECT seq, action, object_key AS key FROM audit_log ORDER BY seq")
      .all() as { seq: number; action: string; key: string | null }[];
    sql.close();
    const last = rows[rows.length - 1];
    assert.equal(last?.action, "server.stop");
    const slow = rows.filter((r) => r.key === "slow").map((r) => r.action);
    assert.deepEqual(slow, ["PutObject", "PutObject"]); // started, then the failed outcome
    const anchors = (await listAnchors(storage)).anchors;
    assert.equal(anchors[anchors.length - 1]?.seq, last.seq);
    rmSync(gw.dataDir, { recursive: true, force: true });
  });
});
