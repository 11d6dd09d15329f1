import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../config.ts";
import type { OutMessage } from "./alert-store.ts";
import { smtpChannel } from "./channels.ts";
import { selfSignedCert, startTestSmtp } from "./testing.ts";

const message: OutMessage = {
  subject: "[coffer] test message for web-01",
  text: "Source: web-01\nThis is a test of every alert channel.\n",
  to: [],
  event: { type: "test", source: "web-01" },
};

describe("SMTP channel over TLS with AUTH (slow: real smtp-server, openssl self-signed certificate, nodemailer)", () => {
  let dir: string;
  let cert: ReturnType<typeof selfSignedCert>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "coffer-smtp-tls-"));
    cert = selfSignedCert(dir);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes a server YAML with the given `alerts.smtp` lines and loads it as coffer-server would. */
  const smtpFromYaml = (lines: string[]) => {
    const file = join(dir, `coffer-server-${String(Math.random()).slice(2)}.yaml`);
    writeFileSync(
      file,
      [
        `dataDir: ${join(dir, "data")}`,
        "listen: 127.0.0.1:0",
        "http: true",
        "alerts:",
        "  smtp:",
        ...lines.map((l) => `    ${l}`),
        "",
      ].join("\n"),
    );
    const smtp = loadConfig(file).alerts.smtp;
    assert.ok(smtp);
    return smtpChannel(smtp);
  };

  test("STARTTLS with AUTH, the server verified against the configured CA (tls.ca)", async () => {
    const smtp = await startTestSmtp({ tls: cert, auth: { user: "alerts", pass: "s3cret" } });
    try {
      const ch = smtpFromYaml([
        "host: 127.0.0.1",
        `port: ${smtp.port}`,
        "starttls: true",
        `ca: ${cert.certPath}`,
        "user: alerts",
        "pass: s3cret",
        "from: coffer@backup.example",
        "to: [ops@example.com]",
      ]);
      await ch.send(message);
      assert.deepEqual(
        smtp.mails.map((m) => [m.subject, m.to.join(), m.from, m.secure, m.user]),
        [
          [
            "[coffer] test message for web-01",
            "ops@example.com",
            "coffer@backup.example",
            true,
            "alerts",
          ],
        ],
      );
      assert.equal(smtp.mails[0]?.text, message.text);
    } finally {
      await smtp.close();
    }
  });

  test("implicit TLS (secure: true) with AUTH and the CA", async () => {
    const smtp = await startTestSmtp({
      tls: cert,
      secure: true,
      auth: { user: "alerts", pass: "s3cret" },
    });
    try {
      const ch = smtpFromYaml([
        "host: 127.0.0.1",
        `port: ${smtp.port}`,
        "secure: true",
        `ca: ${cert.certPath}`,
        "user: alerts",
        "pass: s3cret",
        "from: coffer@backup.example",
        "to: ops@example.com",
      ]);
      await ch.send(message);
      assert.deepEqual(
        smtp.mails.map((m) => [m.subject, m.secure, m.user]),
        [["[coffer] test message for web-01", true, "alerts"]],
      );
    } finally {
      await smtp.close();
    }
  });

  test("rejectUnauthorized: false, explicitly configured, accepts the self-signed certificate; without it or a CA, delivery is refused", async () => {
    const smtp = await startTestSmtp({ tls: cert, auth: { user: "alerts", pass: "s3cret" } });
    try {
      const base = [
        "host: 127.0.0.1",
        `port: ${smtp.port}`,
        "starttls: true",
        "user: alerts",
        "pass: s3cret",
        "from: coffer@backup.example",
        "to: ops@example.com",
      ];
      await assert.rejects(smtpFromYaml(base).send(message), /self[- ]signed certificate/i);
      assert.equal(smtp.mails.length, 0);
      await smtpFromYaml([...base, "rejectUnauthorized: false"]).send(message);
      assert.deepEqual(
        smtp.mails.map((m) => [m.secure, m.user]),
        [[true, "alerts"]],
      );
    } finally {
      await smtp.close();
    }
  });

  test("a wrong password is refused by the server and reported as a send failure", async () => {
    const smtp = await startTestSmtp({ tls: cert, auth: { user: "alerts", pass: "s3cret" } });
    try {
      const ch = smtpFromYaml([
        "host: 127.0.0.1",
        `port: ${smtp.port}`,
        "starttls: true",
        `ca: ${cert.certPath}`,
        "user: alerts",
        "pass: wrong",
        "from: coffer@backup.example",
        "to: ops@example.com",
      ]);
      await assert.rejects(ch.send(message), /Invalid username or password/);
      assert.deepEqual(smtp.authFailures, ["alerts"]);
      assert.equal(smtp.mails.length, 0);
    } finally {
      await smtp.close();
    }
  });

  test("starttls: true refuses to send in clear to a server that does not offer STARTTLS", async () => {
    const smtp = await startTestSmtp(); // no TLS at all
    try {
      const ch = smtpFromYaml([
        "host: 127.0.0.1",
        `port: ${smtp.port}`,
        "starttls: true",
        "from: coffer@backup.example",
        "to: ops@example.com",
      ]);
      await assert.rejects(ch.send(message), /STARTTLS/);
      assert.equal(smtp.mails.length, 0);
    } finally {
      await smtp.close();
    }
  });

  test("config: a missing or non-PEM ca file, and secure with starttls, are one-line errors", () => {
    writeFileSync(join(dir, "not-pem.txt"), "hello\n");
    const base = ["host: 127.0.0.1", "from: coffer@backup.example", "to: ops@example.com"];
    assert.throws(
      () => smtpFromYaml([...base, `ca: ${join(dir, "nope.pem")}`]),
      /alerts\.smtp\.ca: cannot read .*nope\.pem: no such file or directory/,
    );
    assert.throws(
      () => smtpFromYaml([...base, `ca: ${join(dir, "not-pem.txt")}`]),
      /alerts\.smtp\.ca: .*not-pem\.txt is not a PEM certificate/,
    );
    assert.throws(
      () => smtpFromYaml([...base, "secure: true", "starttls: true"]),
      /choose secure \(implicit TLS\) or starttls, not both/,
    );
  });
});
