import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { encodeManifest } from "../../format/manifest.ts";
import { applyConfigDocument } from "../config.ts";
import { startServer } from "../server.ts";
import { parseAgentSchedule } from "./agent-schedule.ts";
import { ExpectationStore } from "./expectations.ts";
import { sendSigned, startTestSmtp } from "./testing.ts";

const H = 3_600_000;

test("parseAgentSchedule() reads jobs and skips malformed ones; a run status is not a schedule", () => {
  const doc = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));
  assert.equal(parseAgentSchedule(doc({ ok: false, message: "x", tags: [] })), undefined);
  assert.equal(parseAgentSchedule(Buffer.from("not json")), undefined);
  assert.deepEqual(
    parseAgentSchedule(
      doc({
        kind: "schedule",
        jobs: [
          { job: "www", cron: "0 3 * * *", tz: "Europe/Paris", everyMs: null, graceMs: 7_200_000 },
          { job: "mongo", cron: null, everyMs: 3_600_000, graceMs: 1_200_000 },
          { job: "bad cron", cron: "0 3 * * *" },
          { job: "x", cron: "0 99 * * *", everyMs: null },
          { job: "y", cron: "0 3 * * *", tz: "Mars/Olympus" },
          { job: "z", cron: null, everyMs: null },
        ],
      }),
    ),
    [
      { job: "www", cron: "0 3 * * *", tz: "Europe/Paris", everyMs: null, graceMs: 7_200_000 },
      { job: "mongo", cron: null, tz: "UTC", everyMs: 3_600_000, graceMs: 1_200_000 },
    ],
  );
});

test("a schedule published by an agent becomes expectations (hand-set ones win, a publish never removes one); a stopped job goes late and recovers, by real SMTP", async () => {
  const smtp = await startTestSmtp();
  const dataDir = mkdtempSync(join(tmpdir(), "coffer-agent-schedule-"));
  const cfg = applyConfigDocument(
    {
      dataDir,
      listen: "127.0.0.1:0",
      http: true,
      alerts: {
        checkInterval: "1h",
        downAfter: 3,
        smtp: {
          host: "127.0.0.1",
          port: smtp.port,
          from: "coffer@b.example",
          to: ["ops@example.com"],
        },
      },
    },
    "(test)",
  );
  const clock = { t: Date.UTC(2026, 0, 15, 10, 0), now: () => clock.t };
  const s = await startServer(cfg, { clock, writeInfo: false });
  try {
    const src = await s.metadata.sources.add(
      {
        name: "web-01",
        region: "us-east-1",
        scratchPrefixes: [],
        deletionDelayMs: cfg.minDeletionDelayMs,
      },
      clock.t,
    );
    const store = new ExpectationStore(s.metadata.db);
    // The operator watches the dbs job by hand: that wins over the agent's schedule.
    await store.set({
      source: "web-01",
      group: "databases",
      tagMatch: "job:dbs",
      cron: "0 0 * * *",
      tz: "UTC",
      everyMs: null,
      graceMs: H,
      downAfter: { slots: 3 },
      createdAt: clock.t,
    });
    const put = (key: string, body: Buffer) =>
      sendSigned(s.port, clock, src, "PUT", `/web-01/${key}`, body);
    const tickAt = async (t: number) => {
      clock.t = t;
      await s.monitor.alerter.tick();
    };
    const schedule = (jobs: unknown[]) =>
      Buffer.from(JSON.stringify({ kind: "schedule", host: "web-01", jobs }));
    assert.equal(
      (
        await put(
          "status/2026-01-15T10-00-00-000Z-aaaa.json",
          schedule([
            { job: "www", cron: null, tz: "UTC", everyMs: H, graceMs: 10 * 60_000 },
            { job: "dbs", cron: "0 12 * * *", tz: "UTC", everyMs: null, graceMs: H },
          ]),
        )
      ).status,
      200,
    );
    await tickAt(Date.UTC(2026, 0, 15, 10, 1));
    const groups = (await store.list("web-01")).map((e) => `${e.group} ${e.tagMatch ?? ""}`);
    assert.deepEqual(groups, ["agent:www job:www", "databases job:dbs"]);

    // www backs up at 10:30; nothing more arrives: late after 11:30 + 10 min.
    clock.t = Date.UTC(2026, 0, 15, 10, 30);
    const m = encodeManifest({
      v: 1,
      snapshot: "a".repeat(64),
      host: "web-01",
      tags: ["job:www"],
      time: "2026-01-15T10:30:00Z",
      stats: {
        files: 1,
        dirs: 1,
        bytes: 1,
        newFiles: 1,
        changedFiles: 0,
        unchangedFiles: 0,
        addedBytes: 1,
        storedBytes: 1,
      },
      packs: [],
    });
    assert.equal((await put(`manifests/${m.id}`, Buffer.from(m.bytes))).status, 200);
    await tickAt(Date.UTC(2026, 0, 15, 11, 35));
    assert.deepEqual(
      smtp.mails.map((x) => x.subject),
      [],
    );
    // An empty publish (a compromised client, or a job dropped) removes nothing.
    assert.equal(
      (await put("status/2026-01-15T11-36-00-000Z-bbbb.json", schedule([]))).status,
      200,
    );
    await tickAt(Date.UTC(2026, 0, 15, 11, 41));
    assert.ok((await store.list("web-01")).some((e) => e.group === "agent:www"));
    assert.deepEqual(
      smtp.mails.map((x) => x.subject),
      ["[coffer] web-01 (agent:www): backup late"],
    );

    // The agent comes back: the next backup clears it.
    clock.t = Date.UTC(2026, 0, 15, 12, 5);
    const m2 = encodeManifest({
      v: 1,
      snapshot: "b".repeat(64),
      host: "web-01",
      tags: ["job:www"],
      time: "2026-01-15T12:05:00Z",
      stats: {
        files: 1,
        dirs: 1,
        bytes: 1,
        newFiles: 0,
        changedFiles: 0,
        unchangedFiles: 1,
        addedBytes: 0,
        storedBytes: 0,
      },
      packs: [],
    });
    assert.equal((await put(`manifests/${m2.id}`, Buffer.from(m2.bytes))).status, 200);
    await tickAt(Date.UTC(2026, 0, 15, 12, 6));
    assert.equal(smtp.mails[1]?.subject, "[coffer] web-01 (agent:www): backup recovered");
  } finally {
    await s.close();
    await smtp.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
