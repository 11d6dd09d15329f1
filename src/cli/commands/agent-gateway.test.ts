import assert from "node:assert/strict";
import { chmod, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { AgentProcess } from "../../agent/testing/agent-process.ts";
import { pgAdmin, pgChecksums, pgDrop, uniqueName } from "../../dumps/testing/servers.ts";
import { startTestSmtp } from "../../server/alerts/testing.ts";
import { startGatewayProcess } from "../../server/integration/testing/gateway-process.ts";
import { runCoffer } from "../testing/run-coffer.ts";

const dirs: string[] = [];
const dbs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  for (const d of dbs) await pgDrop(d);
});

async function until(what: string, pred: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test("coffer agent against a real coffer-server (slow integration): runs restore, a failed job alerts, the published schedule makes the gateway raise late when the agent stops and recovered when it restarts, by real SMTP", async () => {
  const shop = uniqueName("agent_gw_shop");
  const restored = uniqueName("agent_gw_restored");
  dbs.push(shop, restored);
  await pgAdmin(`create database "${shop}"`);
  await pgAdmin(
    "create table items (id int primary key, name text); insert into items select g, 'item ' || g from generate_series(1, 500) g",
    shop,
  );
  const smtp = await startTestSmtp();
  const gw = await startGatewayProcess({
    fromSource: true,
    config: `alerts:
  checkInterval: 1s
  downAfter: 1000
  smtp: { host: 127.0.0.1, port: ${String(smtp.port)}, from: coffer@gw.example, to: [ops@example.com] }
`,
  });
  const dir = await mkdtemp(join(tmpdir(), "coffer-agent-gw-"));
  dirs.push(dir);
  try {
    const c = await gw.addSource("web-01");
    const env = {
      COFFER_PASSWORD: "agent gateway password",
      AWS_ACCESS_KEY_ID: c.accessKeyId,
      AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
      COFFER_CACHE_DIR: join(dir, "cache"),
    };
    const init = await runCoffer(["init", "-r", c.repository], env);
    assert.equal(init.code, 0, init.stderr);
    await writeFile(join(dir, "site.html"), "<p>served by web-01</p>\n");
    const config = join(dir, "agent.yaml");
    await writeFile(
      config,
      `repository: ${c.repository}
state_dir: ${join(dir, "state")}
concurrency: 2
jobs:
  www:
    files: [${join(dir, "site.html")}]
    every: 3s
    grace: 4s
  broken:
    command: [sh, -c, "echo no database here >&2; exit 3"]
    filename: broken.dump
    every: 3s
  shop:
    databases: [{ type: postgres, db: [${shop}] }]
    every: 3s
  verify:
    check: { read_data: true }
    schedule: "0 4 * * *"
`,
    );
    const subjects = (): string[] => smtp.mails.map((m) => m.subject);
    let agent = new AgentProcess(config, env);
    try {
      await agent.until(
        "the schedule published, www backed up twice, the database once",
        (ev) =>
          ev.some((e) => e.event === "published") &&
          ev.filter((e) => e.job === "www" && e.event === "done" && e.result === "success")
            .length >= 2 &&
          ev.some((e) => e.job === "shop" && e.event === "done" && e.result === "success"),
      );
      await until("the broken job's failure alert", () =>
        subjects().some((s) => s.includes("backup FAILED")),
      );
    } finally {
      assert.equal((await agent.stop()).code, 0);
    }
    const groups = gw
      .query<{ grp: string; tag_match: string; every_ms: number }>(
        "SELECT grp, tag_match, every_ms FROM alert_expectations WHERE source = 'web-01' ORDER BY grp",
      )
      .map((r) => `${r.grp} ${r.tag_match} ${String(r.every_ms)}`);
    assert.deepEqual(groups, [
      "agent:broken job:broken 3000",
      "agent:shop job:shop 3000",
      "agent:www job:www 3000",
    ]);
    const failed = smtp.mails.find((m) => m.subject.includes("backup FAILED"));
    assert.match(failed?.text ?? "", /job:broken/);
    assert.ok(!(failed?.text ?? "").includes("no database here"), "the error text stays sealed");
    // The status objects carry the run's details sealed; the gateway reads result and sizes only.
    const statuses = gw.query<{ key: string }>(
      "SELECT key FROM objects WHERE bucket = ? AND key LIKE 'status/%' AND key NOT LIKE '%schedule%'",
      c.bucket,
    );
    assert.ok(statuses.length >= 3);
    const st = JSON.parse(
      await readFile(gw.objectPath(c.bucket, statuses[0]?.key ?? ""), "utf8"),
    ) as Record<string, unknown>;
    assert.equal(typeof st.details, "string");
    assert.equal(st.log, undefined);

    // The agent is stopped: www goes late.
    await until("www late", () =>
      subjects().some((s) => s === "[coffer] web-01 (agent:www): backup late"),
    );

    // It restarts: the next www backup recovers it.
    agent = new AgentProcess(config, env);
    try {
      await until("www recovered", () =>
        subjects().some((s) => s === "[coffer] web-01 (agent:www): backup recovered"),
      );
    } finally {
      assert.equal((await agent.stop()).code, 0);
    }

    // What the agent backed up through the gateway restores.
    const target = join(dir, "restored");
    const r = await runCoffer(
      ["restore", "latest", "-r", c.repository, "--tag", "job:www", "--target", target],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      await readFile(join(target, dir, "site.html"), "utf8"),
      "<p>served by web-01</p>\n",
    );

    // The database dump restores, through the gateway, to exactly its source.
    const db = await runCoffer(
      [
        "db",
        "restore",
        "latest",
        "-r",
        c.repository,
        "--type",
        "postgres",
        "--db",
        restored,
        "--create",
        "--from",
        shop,
      ],
      env,
    );
    assert.equal(db.code, 0, db.stderr);
    assert.deepEqual(await pgChecksums(restored), await pgChecksums(shop));

    // A flipped byte in a pack on the gateway: the check job fails and the gateway alerts.
    const packs = gw.query<{ key: string; size: number }>(
      "SELECT key, size FROM objects WHERE bucket = ? AND key LIKE 'data/%' ORDER BY size DESC",
      c.bucket,
    );
    const file = gw.objectPath(c.bucket, packs[0]?.key ?? "");
    await chmod(file, 0o644);
    const fh = await open(file, "r+");
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, 100);
    b[0] = (b[0] ?? 0) ^ 0x10;
    await fh.write(b, 0, 1, 100);
    await fh.close();
    const mails = smtp.mails.length;
    const check = await runCoffer(["agent", "run-now", "verify", "--config", config], env);
    assert.equal(check.code, 1, check.stderr + check.stdout.toString("utf8"));
    assert.match(
      check.stdout.toString("utf8"),
      /verify: failed in .*: check found damage: pack [0-9a-f]{8}/,
    );
    await until("the check's failure alert", () =>
      smtp.mails
        .slice(mails)
        .some((m) => m.subject.includes("backup FAILED") && m.text.includes("job:verify")),
    );
  } finally {
    await gw.stop();
    await smtp.close();
  }
});
