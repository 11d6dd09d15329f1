import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pgAdmin, pgDrop, uniqueName } from "../../dumps/testing/servers.ts";
import { runCoffer } from "../testing/run-coffer.ts";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test("coffer drill --db-target restores a PostgreSQL dump into a scratch database, runs the probes (a failing probe fails the drill), and drops the scratch database (slow: real PostgreSQL)", async () => {
  const shop = uniqueName("drill");
  cleanups.push(() => pgDrop(shop));
  await pgAdmin(`create database "${shop}"`);
  await pgAdmin(
    "create table orders (id int primary key); insert into orders select generate_series(1, 250)",
    shop,
  );
  const dir = await mkdtemp(join(tmpdir(), "coffer-drill-db-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const repo = join(dir, "repo");
  const env = { COFFER_PASSWORD: "drill db password" };
  assert.equal((await runCoffer(["init", "-q", "-r", repo], env)).code, 0);
  const b = await runCoffer(
    ["db", "backup", "-q", "-r", repo, "--type", "postgres", "--db", shop],
    env,
  );
  assert.equal(b.code, 0, b.stderr);
  const drill = (probes: string[]) =>
    runCoffer(
      [
        "drill",
        "--json",
        "-r",
        repo,
        "--tag",
        `db:postgres:${shop}`,
        "--target",
        join(dir, "scratch"),
        "--db-target",
        "postgres://localhost",
        ...probes.flatMap((p) => ["--probe", p]),
      ],
      env,
    );
  const scratchDbs = async () =>
    (await pgAdmin("select datname from pg_database where datname like 'coffer_drill_%'")).length;
  const before = await scratchDbs();
  const ok = await drill(["select count(*) from orders"]);
  assert.equal(ok.code, 0, ok.stderr);
  const report = JSON.parse(ok.stdout.toString()) as {
    ok: boolean;
    checks: { name: string; ok: boolean; detail: string }[];
  };
  assert.equal(report.ok, true);
  assert.deepEqual(
    report.checks.filter((c) => c.name.startsWith("probe")).map((c) => [c.name, c.ok, c.detail]),
    [["probe: select count(*) from orders", true, 'returned "250"']],
  );
  assert.equal(await scratchDbs(), before, "the scratch database is dropped");

  const bad = await drill([
    "select count(*) from orders",
    "select count(*) from orders where id > 1000",
  ]);
  assert.equal(bad.code, 1, bad.stderr);
  const failed = JSON.parse(bad.stdout.toString()) as typeof report;
  assert.equal(failed.ok, false);
  assert.deepEqual(
    failed.checks.filter((c) => !c.ok).map((c) => c.detail),
    ['returned "0"'],
  );
  assert.equal(await scratchDbs(), before);
});
