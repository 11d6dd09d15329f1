import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fxBytes } from "../../engine/testing/check-fixture.ts";
import { runCoffer } from "../testing/run-coffer.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test("agent drill, mirror and copy jobs: run-now drills the latest snapshot of a backup job, mirrors it (post_mirror runs) and copies it to a second repository (once); validate refuses a relative target (slow: real processes)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "coffer-agent-recovery-"));
  dirs.push(dir);
  const data = join(dir, "data");
  await mkdir(data);
  await writeFile(join(data, "a.bin"), fxBytes(1_500_000, 1));
  await writeFile(join(data, "b.txt"), "bee\n");
  await writeFile(join(dir, "pw"), "agent-recovery-password\n");
  const repo = join(dir, "repo");
  const env = { COFFER_PASSWORD_FILE: join(dir, "pw") };
  assert.equal((await runCoffer(["init", "-q", "-r", repo], env)).code, 0);
  const config = join(dir, "agent.yaml");
  const standby = join(dir, "standby");
  const yaml = (target: string): string => `repository: ${repo}
password_file: ${join(dir, "pw")}
state_dir: ${join(dir, "state")}
jobs:
  www:
    files: [${data}]
    schedule: "0 3 * * *"
  drill-www:
    drill: { job: www, target: ${target} }
    schedule: "0 5 1 * *"
  standby:
    mirror: { job: www, to: ${standby}, post_mirror: "test -f ${standby}${data}/b.txt && echo healthy" }
    schedule: "30 3 * * *"
  offsite:
    copy: { to: ${join(dir, "offsite")}, password_file: ${join(dir, "offsite-pw")}, job: www }
    every: 1h
`;
  await writeFile(config, yaml(join(dir, "scratch")));
  const run = async (job: string) => runCoffer(["agent", "run-now", job, "--config", config], env);
  const b = await run("www");
  assert.equal(b.code, 0, b.stderr);
  const d = await run("drill-www");
  assert.equal(d.code, 0, d.stdout.toString() + d.stderr);
  assert.match(
    d.stdout.toString() + d.stderr,
    /ok count: 2 files verified, the snapshot records 2/,
  );
  assert.match(d.stdout.toString() + d.stderr, /recovery time \d+\.\d\d s/);
  const m = await run("standby");
  assert.equal(m.code, 0, m.stdout.toString() + m.stderr);
  assert.match(m.stdout.toString() + m.stderr, /post_mirror \| healthy/);
  execFileSync("diff", ["-r", `${data}/`, `${join(standby, data)}/`]);

  // copy: the www snapshot goes to a second repository with its own password; again: nothing.
  await writeFile(join(dir, "offsite-pw"), "offsite password\n");
  const offEnv = { COFFER_PASSWORD: "offsite password" };
  assert.equal((await runCoffer(["init", "-q", "-r", join(dir, "offsite")], offEnv)).code, 0);
  const c1 = await run("offsite");
  assert.equal(c1.code, 0, c1.stdout.toString() + c1.stderr);
  assert.match(c1.stdout.toString() + c1.stderr, /snapshot [0-9a-f]{8} copied to [0-9a-f]{8}/);
  const c2 = await run("offsite");
  assert.equal(c2.code, 0, c2.stderr);
  assert.match(c2.stdout.toString() + c2.stderr, /snapshot [0-9a-f]{8} already copied/);
  const restored = join(dir, "restored");
  const rr = await runCoffer(
    ["restore", "-q", "-r", join(dir, "offsite"), "latest", "--target", restored],
    offEnv,
  );
  assert.equal(rr.code, 0, rr.stderr);
  execFileSync("diff", ["-r", `${data}/`, `${join(restored, data)}/`]);

  await writeFile(config, yaml("relative/scratch"));
  const v = await runCoffer(["agent", "validate", "--config", config], env);
  assert.equal(v.code, 2);
  assert.match(
    v.stderr + v.stdout.toString(),
    /drill\.target: relative\/scratch: expected an absolute path/,
  );
});
