import assert from "node:assert/strict";
import { test } from "node:test";
import { formatIssue } from "./config-reader.ts";
import { parseAgentConfig } from "./config.ts";

const opts = { defaultTz: "UTC" };

test("parseAgentConfig() reads the issue's example configuration", () => {
  const text = `repository: s3:https://backup.example.net:8443/web-01
password_file: /etc/coffer/password
concurrency: 2
jobs:
  www:   { files: [/var/www, /etc], exclude: ["*.log"], schedule: "0 3 * * *", tz: Europe/Paris }
  dbs:   { databases: discover, schedule: "0 0,12 * * *" }
  mongo: { command: [mongodump, --archive], filename: mongo.archive, every: 1h, window: 20m }
  verify: { check: { read_data_subset: "1/30" }, schedule: "30 4 * * *" }
  shop:
    databases: ["postgres://backup@127.0.0.1:5432/shop", { type: mysql, host: /run/mysqld/mysqld.sock, all: true }]
    sqlite: [/srv/app.db]
    every: 6h
    ping: https://hc-ping.com/abc
hooks:
  before: ["logger coffer starting"]
  on_error: [{ run: "mail -s failed root", timeout: 30s }]
`;
  const r = parseAgentConfig("/etc/coffer/agent.yaml", text, opts);
  assert.ok(r.ok, r.ok ? "" : r.issues.map(formatIssue).join("\n"));
  const c = r.config;
  assert.equal(c.concurrency, 2);
  assert.deepEqual(
    c.jobs.map((j) => [j.name, j.what.kind, j.describe]),
    [
      ["www", "files", "0 3 * * * (Europe/Paris)"],
      ["dbs", "databases", "0 0,12 * * * (UTC)"],
      ["mongo", "command", "every 1h, window 20m"],
      ["verify", "check", "30 4 * * * (UTC)"],
      ["shop", "databases", "every 6h"],
    ],
  );
  const mongo = c.jobs[2];
  assert.deepEqual(mongo?.schedule, { kind: "every", everyMs: 3_600_000, windowMs: 1_200_000 });
  assert.deepEqual(c.jobs[3]?.what, { kind: "check", readData: false, subset: { of: 30 } });
  const shop = c.jobs[4]?.what;
  assert.ok(shop?.kind === "databases");
  assert.deepEqual(shop.spec.servers[0]?.databases, ["shop"]);
  assert.equal(shop.spec.servers[1]?.all, true);
  assert.deepEqual(shop.spec.sqlite, ["/srv/app.db"]);
  assert.deepEqual(c.jobs[0]?.hooks.before, [
    { run: "logger coffer starting", timeoutMs: 300_000 },
  ]);
  assert.deepEqual(c.jobs[0].hooks.onError, [{ run: "mail -s failed root", timeoutMs: 30_000 }]);
});

test("parseAgentConfig() names the file, line and field of every mistake", () => {
  const text = `repository: /srv/repo
password: hunter2
concurrency: 0
jobs:
  www:
    files: [var/www]
    schedule: "0 25 * * *"
    tz: Mars/Olympus
  dbs:
    databases: discover
    every: 1h
    window: 2h
  both:
    files: [/a]
    command: [x]
    every: 5m
  nosched:
    files: [/b]
  typo:
    file: [/c]
    every: 1x
  check:
    check: { read_data_subset: "2/30" }
    every: 1d
    ping: ftp://x
`;
  const r = parseAgentConfig("agent.yaml", text, opts);
  assert.ok(!r.ok);
  const lines = r.issues.map(formatIssue);
  const expect = [
    "agent.yaml:2: password: secrets never go in the configuration",
    "agent.yaml:3: concurrency: expected a whole number of jobs at once",
    "agent.yaml:6: jobs.www.files.0: var/www: expected an absolute path",
    'agent.yaml:7: jobs.www.schedule: Invalid cron "0 25 * * *": hour "25" is out of range 0-23',
    'agent.yaml:8: jobs.www.tz: unknown time zone "Mars/Olympus"',
    "agent.yaml:12: jobs.dbs.window: is longer than the interval (every)",
    "agent.yaml:14: jobs.both: gives files and command",
    "agent.yaml:18: jobs.nosched: has no schedule",
    "agent.yaml:20: jobs.typo.file: unknown field",
    "agent.yaml:20: jobs.typo: says nothing to do",
    "agent.yaml:21: jobs.typo.every: expected a duration like 30s",
    'agent.yaml:23: jobs.check.check.read_data_subset: expected "1/N"',
    "agent.yaml:25: jobs.check.ping: expected an http:// or https:// URL",
  ];
  for (const e of expect)
    assert.ok(
      lines.some((l) => l.startsWith(e)),
      `missing ${JSON.stringify(e)} in:\n${lines.join("\n")}`,
    );
  assert.equal(lines.length, expect.length, lines.join("\n"));
});

test("parseAgentConfig() reports YAML syntax errors and a database password in a URI", () => {
  const bad = parseAgentConfig("a.yaml", "repository: x\njobs:\n  www: { files: [/a\n", opts);
  assert.ok(!bad.ok);
  assert.match(
    formatIssue(bad.issues[0] ?? { file: "", line: 0, field: "", message: "" }),
    /^a\.yaml:\d+: /,
  );
  const pw = parseAgentConfig(
    "a.yaml",
    'repository: x\njobs:\n  db:\n    databases: ["postgres://u:secret@h/shop"]\n    every: 1h\n',
    opts,
  );
  assert.ok(!pw.ok);
  assert.equal(pw.issues.length, 1);
  assert.match(
    formatIssue(pw.issues[0]!),
    /^a\.yaml:4: jobs\.db\.databases\.0: the URI holds a password/,
  );
  assert.ok(!JSON.stringify(pw.issues).includes("secret@"), "the password is not echoed");
  const empty = parseAgentConfig("a.yaml", "", opts);
  assert.ok(!empty.ok);
  assert.deepEqual(empty.issues.map(formatIssue), [
    "a.yaml:1: repository: is required",
    "a.yaml:1: jobs: is required: at least one job",
  ]);
});
