import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, open, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { AgentProcess } from "../../agent/testing/agent-process.ts";
import { pgAdmin, pgChecksums, pgDrop, uniqueName } from "../../dumps/testing/servers.ts";
import { runCoffer } from "../testing/run-coffer.ts";

const dirs: string[] = [];
const dbs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  for (const d of dbs) await pgDrop(d);
});

/** The biggest file under `dir` (recursively): the first backup's data pack. */
async function biggest(dir: string): Promise<string> {
  let best = { path: "", size: -1 };
  for (const e of await readdir(dir, { recursive: true })) {
    const p = join(dir, e);
    const s = await stat(p);
    if (s.isFile() && s.size > best.size) best = { path: p, size: s.size };
  }
  return best.path;
}

test("coffer agent run: a databases job dumps real PostgreSQL databases that restore; a failing database fails only its job; a check job names the damage", async () => {
  const shop = uniqueName("agent_shop");
  const restored = uniqueName("agent_restored");
  dbs.push(shop, restored);
  await pgAdmin(`create database "${shop}"`);
  await pgAdmin(
    "create table orders (id int primary key, item text); insert into orders select g, 'item ' || g from generate_series(1, 2000) g",
    shop,
  );
  const dir = await mkdtemp(join(tmpdir(), "coffer-agent-jobs-"));
  dirs.push(dir);
  const repo = join(dir, "repo");
  await writeFile(join(dir, "pw"), "agent-jobs-password\n");
  const env = { COFFER_PASSWORD_FILE: join(dir, "pw") };
  assert.equal((await runCoffer(["init", "-r", repo], env)).code, 0);
  await writeFile(join(dir, "data.bin"), Buffer.alloc(300_000, 7));
  const config = join(dir, "agent.yaml");
  await writeFile(
    config,
    `repository: ${repo}
password_file: ${join(dir, "pw")}
state_dir: ${join(dir, "state")}
concurrency: 2
jobs:
  files:
    files: [${join(dir, "data.bin")}]
    every: 2s
  shop:
    databases: [{ type: postgres, db: [${shop}] }]
    every: 2s
  missing:
    databases: [{ type: postgres, db: [coffer_t_no_such_database] }]
    every: 2s
  verify:
    check: { read_data: true }
    schedule: "0 4 * * *"
`,
  );
  const agent = new AgentProcess(config, env);
  try {
    await agent.until("files and shop succeeded, missing failed", (ev) => {
      const n = (job: string, result: string): number =>
        ev.filter((e) => e.job === job && e.event === "done" && e.result === result).length;
      return n("files", "success") >= 1 && n("shop", "success") >= 1 && n("missing", "failed") >= 1;
    });
    assert.ok(
      agent.of("files", "done").every((e) => e.result === "success"),
      agent.dump(),
    );
    assert.ok(
      agent.of("shop", "done").every((e) => e.result === "success"),
      agent.dump(),
    );
    assert.match(
      agent.of("missing", "done").find((e) => e.result === "failed")?.message ?? "",
      /coffer_t_no_such_database/,
    );

    // The check job passes on a sound repository...
    const ok = await runCoffer(["agent", "run-now", "verify", "--config", config], env);
    assert.equal(ok.code, 0, ok.stderr);
    await agent.until("the check", (ev) =>
      ev.some((e) => e.job === "verify" && e.event === "done"),
    );
    assert.equal(agent.of("verify", "done")[0]?.result, "success", agent.dump());
  } finally {
    const r = await agent.stop();
    assert.equal(r.code, 0, r.stderr);
  }

  // The dump restores to exactly the source table.
  const restore = await runCoffer(
    [
      "db",
      "restore",
      "latest",
      "-r",
      repo,
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
  assert.equal(restore.code, 0, restore.stderr);
  assert.deepEqual(await pgChecksums(restored), await pgChecksums(shop));

  // ...and fails, naming the damaged pack and the snapshots it affects, after a flipped byte
  // (in the pack of a backup of incompressible data: the biggest one).
  await writeFile(join(dir, "random.bin"), randomBytes(2_000_000));
  const manual = await runCoffer(["backup", "-r", repo, "--json", join(dir, "random.bin")], env);
  assert.equal(manual.code, 0, manual.stderr);
  const pack = await biggest(join(repo, "data"));
  await chmod(pack, 0o644);
  const fh = await open(pack, "r+");
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, 200);
  b[0] = (b[0] ?? 0) ^ 0x40;
  await fh.write(b, 0, 1, 200);
  await fh.close();
  const bad = await runCoffer(["agent", "run-now", "verify", "--config", config, "--json"], env);
  assert.equal(bad.code, 1);
  const out = bad.stdout.toString("utf8");
  assert.match(out, /"result":"failed"/);
  const damaged = (
    JSON.parse(manual.stdout.toString("utf8").trim().split("\n").pop() ?? "{}") as {
      snapshot_id: string;
    }
  ).snapshot_id.slice(0, 8);
  assert.match(
    out,
    new RegExp(
      `check found damage: pack [0-9a-f]{8} is damaged [^"]*affecting snapshot\\(s\\) ${damaged}`,
    ),
  );
});
