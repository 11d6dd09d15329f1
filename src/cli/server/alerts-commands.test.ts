import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { selfSignedCert, startTestSmtp, startTestWebhook } from "../../server/alerts/testing.ts";
import { runServerCli } from "./run.ts";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

/** Runs the real `coffer-server` CLI (sources, via tsx) in a child process. */
function coffersrv(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", MAIN, ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({
          code: err === null ? 0 : typeof err.code === "number" ? err.code : -1,
          stdout,
          stderr,
        });
      },
    );
  });
}

test("coffer-server alerts test web-01 sends through SMTP (STARTTLS + AUTH) and the signed webhook, and exits 1 naming a failing channel (slow: child process, real receivers)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "coffer-alerts-cli-"));
  const cert = selfSignedCert(dir);
  const smtp = await startTestSmtp({ tls: cert, auth: { user: "alerts", pass: "s3cret" } });
  const hook = await startTestWebhook("hook-secret");
  try {
    const cfg = join(dir, "coffer-server.yaml");
    writeFileSync(
      cfg,
      [
        `dataDir: ${join(dir, "data")}`,
        "listen: 127.0.0.1:0",
        "http: true",
        "alerts:",
        `  smtp: { host: 127.0.0.1, port: ${smtp.port}, starttls: true, ca: ${cert.certPath}, user: alerts, pass: s3cret, from: coffer@backup.example, to: [ops@example.com] }`,
        "  webhooks:",
        `    - { url: "${hook.url}", secret: hook-secret }`,
        "  sources:",
        "    web-01: { to: [web-team@example.com] }",
        "",
      ].join("\n"),
    );
    const quiet = { out: () => undefined, err: () => undefined };
    assert.equal(await runServerCli(["source", "add", "web-01", "--config", cfg], quiet), 0);

    const ok = await coffersrv(["alerts", "test", "web-01", "--config", cfg]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(ok.stdout.trim().split("\n"), ["smtp: sent", "webhook:0: sent"]);
    assert.deepEqual(
      smtp.mails.map((m) => [m.subject, m.to.join(), m.from, m.secure, m.user]),
      [
        [
          "[coffer] test message for web-01",
          "web-team@example.com",
          "coffer@backup.example",
          true,
          "alerts",
        ],
      ],
    );
    assert.match(
      smtp.mails[0]?.text ?? "",
      /^Source: web-01\nSent at: \d{4}-\d\d-\d\d \d\d:\d\d \+00:00 \(UTC\)\nThis is a test of every alert channel\.\n$/,
    );
    assert.equal(hook.hooks.length, 1);
    const [h] = hook.hooks;
    assert.ok(h);
    assert.equal(h.signatureOk, true);
    assert.deepEqual(
      [h.body.type, h.body.source, h.body.subject],
      ["test", "web-01", "[coffer] test message for web-01"],
    );

    // The webhook answers 500: exit 1, the failing channel named with its error, SMTP still sent.
    hook.failNext = 1;
    const bad = await coffersrv(["alerts", "test", "web-01", "--config", cfg]);
    assert.equal(bad.code, 1, bad.stderr);
    assert.deepEqual(bad.stdout.trim().split("\n"), [
      "smtp: sent",
      `webhook:0: NOT sent (${hook.url} answered HTTP 500)`,
    ]);
    assert.equal(smtp.mails.length, 2);

    // Unknown source: a one-line error, nothing sent.
    const unknown = await coffersrv(["alerts", "test", "web-99", "--config", cfg]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr.trim(), /web-99/);
    assert.equal(unknown.stderr.trim().split("\n").length, 1);
    assert.equal(smtp.mails.length, 2);

    // Every attempt is in the audit log (exported by the CLI).
    const exp = await coffersrv(["audit", "export", "--source", "web-01", "--config", cfg]);
    assert.equal(exp.code, 0, exp.stderr);
    const sends = exp.stdout
      .trim()
      .split("\n")
      .map(
        (l) =>
          JSON.parse(l) as { action: string; result: string; detail: { channel: string } | null },
      )
      .filter((e) => e.action === "alert.send")
      .map((e) => [e.detail?.channel, e.result]);
    assert.deepEqual(sends, [
      ["smtp", "ok"],
      ["webhook:0", "ok"],
      ["smtp", "ok"],
      ["webhook:0", "failed"],
    ]);
  } finally {
    await smtp.close();
    await hook.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
