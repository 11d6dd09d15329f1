import Database from "better-sqlite3";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runServerCli } from "./run.ts";

function capture(): {
  io: { out(l: string): void; err(l: string): void };
  out: string[];
  err: string[];
} {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l) }, out, err };
}

test("coffer-server audit export/verify/tail and source expect: admin actions are audited, tampering exits 1 naming the seq", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "coffer-audit-cli-"));
  const d = ["--data-dir", dataDir];
  assert.equal(await runServerCli(["source", "add", "web-01", ...d], capture().io), 0);
  assert.equal(
    await runServerCli(["source", "rotate-credentials", "web-01", ...d], capture().io),
    0,
  );
  assert.equal(await runServerCli(["source", "disable", "web-01", ...d], capture().io), 0);
  const ex = capture();
  assert.equal(
    await runServerCli(
      [
        "source",
        "expect",
        "web-01",
        "--cron",
        "0 0,12 * * *",
        "--tz",
        "Europe/Paris",
        "--grace",
        "2h",
        ...d,
      ],
      ex.io,
    ),
    0,
  );
  assert.deepEqual(ex.out, [
    'Expecting web-01 (default): cron "0 0,12 * * *" in Europe/Paris, grace 2h.',
  ]);
  const bad = capture();
  assert.equal(
    await runServerCli(["source", "expect", "web-01", "--cron", "0 25 * * *", ...d], bad.io),
    2,
  );
  assert.match(bad.err[0] ?? "", /hour "25" is out of range/);
  const tz = capture();
  assert.equal(
    await runServerCli(
      ["source", "expect", "web-01", "--every", "1h", "--tz", "Mars/Olympus", ...d],
      tz.io,
    ),
    2,
  );
  assert.match(tz.err[0] ?? "", /Unknown time zone "Mars\/Olympus"/);
  const exp = capture();
  assert.equal(
    await runServerCli(["audit", "export", "--source", "web-01", "--since", "1h", ...d], exp.io),
    0,
  );
  const entries = exp.out.map(
    (l) => JSON.parse(l) as { action: string; credential: string; seq: number },
  );
  assert.deepEqual(
    entries.map((e) => e.action),
    ["source.add", "source.rotate-credentials", "source.disable", "source.expect"],
  );
  assert.ok(entries.every((e) => e.credential.startsWith("admin:")));
  const none = capture();
  assert.equal(await runServerCli(["audit", "export", "--until", "2000-01-01", ...d], none.io), 0);
  assert.deepEqual(none.out, []);
  const ok = capture();
  assert.equal(await runServerCli(["audit", "verify", ...d], ok.io), 0);
  assert.match(ok.out[0] ?? "", /^Audit log OK: 4 entries \(seq 1\.\.4\)/);
  const tail = capture();
  assert.equal(
    await runServerCli(
      ["audit", "tail", "-n", "2", ...d].map((a) => (a === "-n" ? "--n" : a)),
      tail.io,
    ),
    0,
  );
  assert.deepEqual(
    tail.out.map((l) => (JSON.parse(l) as { seq: number }).seq),
    [3, 4],
  );
  const sql = new Database(join(dataDir, "metadata.sqlite"));
  sql.prepare("UPDATE audit_log SET source = 'web-02' WHERE seq = 2").run();
  sql.close();
  const t = capture();
  assert.equal(await runServerCli(["audit", "verify", ...d], t.io), 1);
  assert.deepEqual(t.out, [
    "Audit log TAMPERED: 1 problem in 4 entries (seq 1..4):",
    "  seq 2: entry 2 was modified or reordered (its content does not match its hash)",
  ]);
});

test("coffer-server audit tail --f follows new entries until stopped", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "coffer-audit-tail-"));
  const d = ["--data-dir", dataDir];
  assert.equal(await runServerCli(["source", "add", "web-01", ...d], capture().io), 0);
  const c = capture();
  const { auditCommand } = await import("./audit-commands.ts");
  const { loadConfig } = await import("../../server/config.ts");
  const ac = new AbortController();
  const follow = auditCommand(
    c.io,
    ["tail", "--f", ...d],
    () => loadConfig(undefined, { dataDir }),
    ac.signal,
  );
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await runServerCli(["source", "add", "web-02", ...d], capture().io), 0);
  for (let i = 0; i < 40 && c.out.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  ac.abort();
  assert.equal(await follow, 0);
  assert.deepEqual(
    c.out.map((l) => (JSON.parse(l) as { action: string; source: string }).source),
    ["web-01", "web-02"],
  );
});
