import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { encodeManifest } from "../../format/manifest.ts";
import { applyConfigDocument } from "../config.ts";
import { startServer, type RunningServer } from "../server.ts";
import { ExpectationStore } from "./expectations.ts";
import { sendSigned, startTestSmtp, startTestWebhook } from "./testing.ts";

const PARIS = (y: number, mo: number, d: number, h: number, mi = 0): number =>
  Date.UTC(y, mo - 1, d, h - 1, mi); // January: UTC+1

const send = sendSigned;

let snap = 0;
function manifest(
  stats: { files: number; bytes: number; changedFiles: number; newFiles?: number },
  tags: string[] = [],
): { key: string; bytes: Buffer } {
  snap++;
  const m = encodeManifest({
    v: 1,
    snapshot: snap.toString(16).padEnd(64, "0"),
    host: "web-01",
    tags,
    time: "2026-01-15T00:00:00Z",
    stats: { dirs: 1, newFiles: 0, unchangedFiles: 0, addedBytes: 0, storedBytes: 0, ...stats },
    packs: [],
  });
  return { key: `manifests/${m.id}`, bytes: Buffer.from(m.bytes) };
}

test("alerts end to end (slow: real SMTP + webhook): on time, late, reminder, restart, down, recovered, failed dump, anomaly, deletion request", async () => {
  const smtp = await startTestSmtp();
  const hook = await startTestWebhook("hook-secret");
  const dataDir = mkdtempSync(join(tmpdir(), "coffer-alerts-"));
  const cfg = applyConfigDocument(
    {
      dataDir,
      listen: "127.0.0.1:0",
      http: true,
      alerts: {
        checkInterval: "1h",
        reminder: "6h",
        downAfter: 3,
        smtp: {
          host: "127.0.0.1",
          port: smtp.port,
          from: "coffer@backup.example",
          to: ["ops@example.com"],
        },
        webhooks: [{ url: hook.url, secret: "hook-secret" }],
        sources: { "web-01": { to: ["web-team@example.com"] } },
      },
    },
    "(test)",
  );
  const clock = { t: PARIS(2026, 1, 15, 0, 30), now: () => clock.t };
  let s: RunningServer = await startServer(cfg, { clock, writeInfo: false });
  const restart = async (): Promise<void> => {
    await s.close();
    s = await startServer(cfg, { clock, writeInfo: false });
  };
  try {
    const add = (n: string) =>
      s.metadata.sources.add(
        {
          name: n,
          region: "us-east-1",
          scratchPrefixes: ["locks/"],
          deletionDelayMs: cfg.minDeletionDelayMs,
        },
        clock.t,
      );
    const web1 = await add("web-01");
    await add("web-02"); // no expectations: must never alert
    await new ExpectationStore(s.metadata.db).set({
      source: "web-01",
      group: "default",
      tagMatch: null,
      cron: "0 0,12 * * *",
      tz: "Europe/Paris",
      everyMs: null,
      graceMs: 2 * 3_600_000,
      downAfter: { slots: 3 },
      createdAt: clock.t,
    });
    const tickAt = async (t: number) => {
      clock.t = t;
      await s.monitor.alerter.tick();
    };
    const put = (key: string, body: Buffer) =>
      send(s.port, clock, web1, "PUT", `/web-01/${key}`, body);
    const subjects = () => smtp.mails.map((m) => m.subject);

    // On time: the 12:00 backup arrives at 12:10 Paris.
    clock.t = PARIS(2026, 1, 15, 12, 10);
    const m1 = manifest({ files: 100, bytes: 10_000, changedFiles: 3 });
    assert.equal((await put(m1.key, m1.bytes)).status, 200);
    await tickAt(PARIS(2026, 1, 15, 14, 30));
    await tickAt(PARIS(2026, 1, 16, 1, 59));
    assert.deepEqual(subjects(), []);

    // Missed → late after the 2h grace of the 00:00 slot.
    await tickAt(PARIS(2026, 1, 16, 2, 1));
    await tickAt(PARIS(2026, 1, 16, 2, 30)); // no flood
    assert.deepEqual(subjects(), ["[coffer] web-01 (default): backup late"]);
    const late = smtp.mails[0];
    assert.deepEqual(late?.to, ["web-team@example.com"]);
    assert.equal(late.from, "coffer@backup.example");
    assert.equal(
      late.text,
      [
        "Source: web-01",
        "Group: default",
        'Schedule: cron "0 0,12 * * *" in Europe/Paris, grace 2h',
        "State: late (1 missed slot)",
        "Expected by: 2026-01-16 02:00 +01:00 (Europe/Paris) (slot 2026-01-16 00:00 +01:00 (Europe/Paris))",
        "Last backup: 2026-01-15 12:10 +01:00 (Europe/Paris)",
        "Checked at: 2026-01-16 02:01 +01:00 (Europe/Paris)",
        "",
      ].join("\n"),
    );

    // Reminder after 6 h, once.
    await tickAt(PARIS(2026, 1, 16, 8, 1));
    await tickAt(PARIS(2026, 1, 16, 8, 2));
    assert.equal(subjects().length, 2);
    assert.equal(subjects()[1], "[coffer] reminder: web-01 (default): backup still late");

    // A restart neither repeats the late alert/reminder nor loses what happens while it is down.
    await restart();
    await tickAt(PARIS(2026, 1, 16, 8, 10));
    assert.equal(subjects().length, 2);
    await s.close();
    clock.t = PARIS(2026, 1, 17, 2, 5); // the third missed slot's grace passes while stopped
    s = await startServer(cfg, { clock, writeInfo: false });
    await tickAt(PARIS(2026, 1, 17, 2, 5));
    assert.equal(subjects()[2], "[coffer] web-01 (default): backup DOWN");
    assert.match(smtp.mails[2]?.text ?? "", /^State: down \(3 missed slots\)$/m);
    await restart();
    await tickAt(PARIS(2026, 1, 17, 2, 10));
    assert.equal(subjects().length, 3);

    // Recovered when the backup arrives.
    clock.t = PARIS(2026, 1, 17, 3, 0);
    const m2 = manifest({ files: 100, bytes: 10_100, changedFiles: 5 });
    assert.equal((await put(m2.key, m2.bytes)).status, 200);
    await tickAt(PARIS(2026, 1, 17, 3, 1));
    assert.equal(subjects()[3], "[coffer] web-01 (default): backup recovered");
    assert.match(
      smtp.mails[3]?.text ?? "",
      /^State: up \(was missing since 2026-01-16 02:01 \+01:00 \(Europe\/Paris\)\)\nBackup arrived: 2026-01-17 03:00 \+01:00 \(Europe\/Paris\)$/m,
    );

    // A failed dump reported by the client through a status object.
    clock.t = PARIS(2026, 1, 17, 4, 0);
    const status = Buffer.from(
      JSON.stringify({
        ok: false,
        message: "pg_dump exited with status 1: connection refused",
        tags: ["db:postgres:shop"],
      }),
    );
    assert.equal((await put("status/2026-01-17T03-00-00Z.json", status)).status, 200);
    await tickAt(PARIS(2026, 1, 17, 4, 1));
    assert.equal(subjects()[4], "[coffer] web-01 (default): backup FAILED");
    assert.equal(
      smtp.mails[4]?.text,
      [
        "Source: web-01",
        "Group: default",
        "Reported at: 2026-01-17 04:00 +01:00 (Europe/Paris)",
        "Tags: db:postgres:shop",
        "Message: pg_dump exited with status 1: connection refused",
        "Status object: status/2026-01-17T03-00-00Z.json",
        "",
      ].join("\n"),
    );

    // Anomaly: 90% of files changed and the size halved; the next backup also clears the failure.
    clock.t = PARIS(2026, 1, 17, 12, 5);
    const m3 = manifest({ files: 100, bytes: 4_000, changedFiles: 90 });
    assert.equal((await put(m3.key, m3.bytes)).status, 200);
    await tickAt(PARIS(2026, 1, 17, 12, 6));
    assert.deepEqual(subjects().slice(5).sort(), [
      "[coffer] web-01 (default): backup succeeded again",
      `[coffer] web-01: anomaly in snapshot 3${"0".repeat(7)}`,
    ]);
    const anomaly = smtp.mails.find((m) => m.subject.includes("anomaly"));
    assert.match(
      anomaly?.text ?? "",
      /^Anomaly: 90% of files changed or new \(90 of 100; threshold 80%\)$/m,
    );
    assert.match(
      anomaly?.text ?? "",
      /^Anomaly: logical size dropped by 60% \(10100 → 4000 bytes; threshold 50%\)$/m,
    );
    assert.match(
      anomaly?.text ?? "",
      /^Committed at: 2026-01-17 12:05 \+01:00 \(Europe\/Paris\)$/m,
    );

    // A deletion requested with the client's credentials: alert with the cancel instruction.
    clock.t = PARIS(2026, 1, 17, 13, 0);
    const del = await send(s.port, clock, web1, "DELETE", `/web-01/${m1.key}`);
    const id = String(del.headers["x-coffer-deletion-id"]);
    await tickAt(PARIS(2026, 1, 17, 13, 1));
    await tickAt(PARIS(2026, 1, 17, 13, 2));
    const d = smtp.mails[7];
    assert.equal(d?.subject, "[coffer] web-01: deletion requested (1 object)");
    assert.equal(
      d.text,
      [
        "Source: web-01",
        `Requested by: ${web1.accessKeyId}`,
        "Requested at: 2026-01-17 13:00 +01:00 (Europe/Paris)",
        "Executes after: 2026-01-31 13:00 +01:00 (Europe/Paris)",
        "",
        "Objects (1):",
        `  ${m1.key}  (deletion ${id})`,
        "",
        "If this was not intended, cancel with:",
        `  coffer-server deletions cancel ${id}`,
        "",
      ].join("\n"),
    );
    assert.equal(smtp.mails.length, 8);

    // Every message went to the webhook too, signed, in the same order; web-02 never alerted.
    assert.deepEqual(
      hook.hooks.map((h) => h.body.subject),
      subjects(),
    );
    assert.ok(hook.hooks.every((h) => h.signatureOk && h.body.source === "web-01"));
    assert.equal(hook.hooks[0]?.body.type, "missed");
    assert.ok(
      smtp.mails.every((m) => !m.text.includes("web-02") && m.to.join() === "web-team@example.com"),
    );
    const sends = await s.monitor.audit?.page({ source: "web-01" }, 10_000);
    assert.equal(sends?.filter((e) => e.action === "alert.send" && e.result === "ok").length, 16);
  } finally {
    await s.close();
    await smtp.close();
    await hook.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("a channel that keeps failing is retried, recorded in the audit log, then reported through the others (slow: real SMTP)", async () => {
  const smtp = await startTestSmtp();
  const hook = await startTestWebhook("x");
  const dataDir = mkdtempSync(join(tmpdir(), "coffer-alerts-"));
  const cfg = applyConfigDocument(
    {
      dataDir,
      listen: "127.0.0.1:0",
      http: true,
      alerts: {
        retry: { attempts: 2, backoff: "1m" },
        smtp: {
          host: "127.0.0.1",
          port: smtp.port,
          from: "coffer@backup.example",
          to: "ops@example.com",
        },
        webhooks: [{ url: hook.url }],
      },
    },
    "(test)",
  );
  const clock = { t: Date.UTC(2026, 0, 15), now: () => clock.t };
  const s = await startServer(cfg, { clock, writeInfo: false });
  try {
    await s.metadata.sources.add(
      {
        name: "web-01",
        region: "us-east-1",
        scratchPrefixes: [],
        deletionDelayMs: cfg.minDeletionDelayMs,
      },
      clock.t,
    );
    hook.failNext = 5;
    await s.monitor.alerter.test("web-01");
    assert.deepEqual(
      smtp.mails.map((m) => [m.subject, m.to.join()]),
      [["[coffer] test message for web-01", "ops@example.com"]],
    );
    clock.t += 60_000;
    await s.monitor.alerter.tick();
    assert.deepEqual(
      smtp.mails.map((m) => m.subject),
      ["[coffer] test message for web-01", "[coffer] alerter cannot send through webhook:0"],
    );
    assert.match(
      smtp.mails[1]?.text ?? "",
      /^Last error: http:\/\/127\.0\.0\.1:\d+\/hook answered HTTP 500$/m,
    );
    assert.equal(hook.hooks.length, 0);
    const failed = (await s.monitor.audit?.page({ source: "web-01" }))?.filter(
      (e) => e.action === "alert.send" && e.result === "failed",
    );
    assert.deepEqual(
      failed?.map((e) => [e.detail?.channel, e.detail?.attempt, e.detail?.gaveUp]),
      [
        ["webhook:0", 1, false],
        ["webhook:0", 2, true],
      ],
    );
  } finally {
    await s.close();
    await smtp.close();
    await hook.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
