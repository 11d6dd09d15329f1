import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { applyConfigDocument } from "../config.ts";
import { executeDue } from "../deletions/executor.ts";
import { startServer, type RunningServer } from "../server.ts";
import { sendSigned, startTestSmtp, startTestWebhook } from "./testing.ts";

const PARIS = (y: number, mo: number, d: number, h: number, mi = 0): number =>
  Date.UTC(y, mo - 1, d, h - 1, mi); // winter: UTC+1

test("quota near/over/back under and executed deletions alert with exact messages; a restart repeats none (slow: real SMTP + webhook, deletion executor)", async () => {
  const smtp = await startTestSmtp();
  const hook = await startTestWebhook("k");
  const dataDir = mkdtempSync(join(tmpdir(), "coffer-alerts-events-"));
  const cfg = applyConfigDocument(
    {
      dataDir,
      listen: "127.0.0.1:0",
      http: true,
      alerts: {
        checkInterval: "1h",
        timeZone: "Europe/Paris",
        quotaWarn: 0.9,
        smtp: {
          host: "127.0.0.1",
          port: smtp.port,
          from: "coffer@backup.example",
          to: ["ops@example.com"],
        },
        webhooks: [{ url: hook.url, secret: "k" }],
        sources: { "web-01": { to: ["web-team@example.com"], quota: 1000 } },
      },
    },
    "(test)",
  );
  const clock = { t: PARIS(2026, 1, 10, 9, 0), now: () => clock.t };
  let s: RunningServer = await startServer(cfg, { clock, writeInfo: false });
  try {
    const web1 = await s.metadata.sources.add(
      {
        name: "web-01",
        region: "us-east-1",
        scratchPrefixes: ["locks/"],
        deletionDelayMs: cfg.minDeletionDelayMs,
      },
      clock.t,
    );
    const web2 = await s.metadata.sources.add(
      {
        name: "web-02",
        region: "us-east-1",
        scratchPrefixes: ["locks/"],
        deletionDelayMs: cfg.minDeletionDelayMs,
      },
      clock.t,
    );
    const put = (c: typeof web1, key: string, n: number) =>
      sendSigned(s.port, clock, c, "PUT", `/${c.bucket}/${key}`, Buffer.alloc(n, 7));
    const tickAt = async (t: number) => {
      clock.t = t;
      await s.monitor.alerter.tick();
    };
    const subjects = () => smtp.mails.map((m) => m.subject);

    // Under 90% of the quota: nothing. web-02 has no quota and stores far more: nothing either.
    assert.equal((await put(web1, "data/a", 500)).status, 200);
    assert.equal((await put(web2, "data/big", 5000)).status, 200);
    await tickAt(PARIS(2026, 1, 10, 9, 1));
    assert.deepEqual(subjects(), []);

    // Near: 920 of 1000 bytes (>= 90%), once.
    clock.t = PARIS(2026, 1, 10, 10, 0);
    assert.equal((await put(web1, "data/b", 420)).status, 200);
    await tickAt(PARIS(2026, 1, 10, 10, 1));
    await tickAt(PARIS(2026, 1, 10, 10, 2));
    assert.deepEqual(subjects(), ["[coffer] web-01: storage quota nearly reached"]);
    assert.deepEqual(smtp.mails[0]?.to, ["web-team@example.com"]);
    assert.equal(
      smtp.mails[0].text,
      "Source: web-01\nStored: 920 bytes (92% of quota 1000 bytes)\n",
    );

    // Over: 1120 bytes; the same incident escalates, once.
    clock.t = PARIS(2026, 1, 10, 11, 0);
    assert.equal((await put(web1, "data/c", 200)).status, 200);
    await tickAt(PARIS(2026, 1, 10, 11, 1));
    await tickAt(PARIS(2026, 1, 10, 11, 2));
    assert.deepEqual(subjects().slice(1), ["[coffer] web-01: storage quota EXCEEDED"]);
    assert.equal(
      smtp.mails[1]?.text,
      "Source: web-01\nStored: 1120 bytes (112% of quota 1000 bytes)\n",
    );
    const quota = (await s.monitor.alerter.alerts.list({ source: "web-01" })).filter(
      (a) => a.kind === "quota",
    );
    assert.deepEqual(
      quota.map((a) => [a.state, a.detail?.level]),
      [["open", "over"]],
    );

    // The client deletes two objects: pending, with the cancel instruction.
    clock.t = PARIS(2026, 1, 10, 12, 0);
    const d1 = await sendSigned(s.port, clock, web1, "DELETE", "/web-01/data/b");
    const d2 = await sendSigned(s.port, clock, web1, "DELETE", "/web-01/data/c");
    const [id1, id2] = [
      String(d1.headers["x-coffer-deletion-id"]),
      String(d2.headers["x-coffer-deletion-id"]),
    ];
    await tickAt(PARIS(2026, 1, 10, 12, 1));
    assert.deepEqual(subjects().slice(2), [
      "[coffer] web-01: deletion requested (1 object)",
      "[coffer] web-01: deletion requested (1 object)",
    ]);
    assert.match(
      smtp.mails[2]?.text ?? "",
      new RegExp(`^  coffer-server deletions cancel ${id1}$`, "m"),
    );

    // Nothing executes before the delay; then the executor runs (injected time) and both alert.
    const due = PARIS(2026, 1, 10, 12, 0) + cfg.minDeletionDelayMs;
    assert.deepEqual(
      (await executeDue(s.metadata, s.gateway.deps.objects.storage, due - 60_000)).executed,
      [],
    );
    await tickAt(due - 30_000);
    assert.equal(smtp.mails.length, 4);
    const report = await executeDue(s.metadata, s.gateway.deps.objects.storage, due + 60_000);
    assert.deepEqual(
      report.executed.map((e) => e.key),
      ["data/b", "data/c"],
    );
    assert.equal(
      (await sendSigned(s.port, { t: due + 60_000 }, web1, "GET", "/web-01/data/b")).status,
      404,
    );
    await tickAt(due + 120_000);
    const executedAt = new Date(due + 60_000);
    const parisTime = `${executedAt.toISOString().slice(0, 10)} ${String((executedAt.getUTCHours() + 1) % 24).padStart(2, "0")}:${String(executedAt.getUTCMinutes()).padStart(2, "0")} +01:00 (Europe/Paris)`;
    assert.deepEqual(subjects().slice(4), [
      "[coffer] web-01: deletion executed (2 objects)",
      "[coffer] web-01: storage back under quota",
    ]);
    assert.equal(
      smtp.mails[4]?.text,
      [
        "Source: web-01",
        `Executed at: ${parisTime}`,
        "Objects destroyed (2):",
        `  data/b  (deletion ${id1})`,
        `  data/c  (deletion ${id2})`,
        "",
      ].join("\n"),
    );
    assert.equal(
      smtp.mails[5]?.text,
      "Source: web-01\nStored: 500 bytes (50% of quota 1000 bytes)\n",
    );

    // A restart repeats nothing; web-02 never alerted; every mail also went to the signed webhook.
    await s.close();
    s = await startServer(cfg, { clock, writeInfo: false });
    await tickAt(due + 180_000);
    assert.equal(smtp.mails.length, 6);
    assert.ok(
      smtp.mails.every((m) => m.to.join() === "web-team@example.com" && !m.text.includes("web-02")),
    );
    assert.deepEqual(
      hook.hooks.map((h) => h.body.subject),
      subjects(),
    );
    assert.deepEqual(
      hook.hooks.map((h) => h.body.type),
      ["quota", "quota", "deletion-requested", "deletion-requested", "deletion-executed", "quota"],
    );
    assert.ok(hook.hooks.every((h) => h.signatureOk));
  } finally {
    await s.close();
    await smtp.close();
    await hook.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
