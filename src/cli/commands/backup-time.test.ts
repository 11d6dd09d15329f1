import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { startGatewayProcess } from "../../server/integration/testing/gateway-process.ts";
import { cliFixture, lastJson } from "../testing/cli-fixture.ts";
import { runCoffer } from "../testing/run-coffer.ts";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface SnapshotJson {
  id: string;
  time: string;
  tags: string[];
}

test("backup --time records the given time (local or with an offset); a bad value is one line, exit 2, nothing saved (slow: real processes)", async () => {
  const fx = await cliFixture("coffer-time-");
  cleanups.push(() => fx.remove());
  const src = join(fx.dir, "src");
  await mkdir(src);
  await writeFile(join(src, "a.txt"), "a");
  const paris = { TZ: "Europe/Paris" };
  const cases: [string, string][] = [
    ["2026-01-31 23:00:00", "2026-01-31T22:00:00.000000000Z"], // CET, UTC+1
    ["2026-07-01 12:30", "2026-07-01T10:30:00.000000000Z"], // CEST, UTC+2
    ["2026-01-31T23:00:00Z", "2026-01-31T23:00:00.000000000Z"],
    ["2001-09-09T03:46:40+02:00", "2001-09-09T01:46:40.000000000Z"],
  ];
  for (const [time, expected] of cases) {
    const r = await fx.json(["backup", src, "--time", time, "--tag", time], 0, paris);
    const id = lastJson(r).snapshot_id as string;
    const [list] = (await fx.json(["snapshots", "--tag", time])) as SnapshotJson[][];
    assert.deepEqual(
      list?.map((s) => [s.id, s.time]),
      [[id, expected]],
      time,
    );
  }
  const stdin = await fx.run(
    ["backup", "--stdin", "--time", "2026-01-31T23:00:00Z", "--json"],
    {},
    "x",
  );
  assert.equal(stdin.code, 0, stdin.stderr);
  const [all] = (await fx.json(["snapshots"])) as SnapshotJson[][];
  assert.equal(all?.length, 5);
  for (const bad of ["yesterday", "2026-02-30 10:00:00", "1", "2026-01-31 24:00"]) {
    const r = await fx.run(["backup", src, "--time", bad], paris);
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
    assert.equal(r.stderr.split("\n").filter((l) => l !== "").length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^coffer: Cannot parse --time "${bad}": `));
  }
  const [after] = (await fx.json(["snapshots"])) as SnapshotJson[][];
  assert.equal(after?.length, 5, "nothing saved by the refused runs");
});

test("behind a coffer gateway, retention uses the commit time, not --time: a snapshot claiming 2001 is not expired by rolling-30d (slow: real processes)", async () => {
  const gw = await startGatewayProcess({ fromSource: true });
  cleanups.push(() => gw.stop());
  const dir = await mkdtemp(join(tmpdir(), "coffer-time-gw-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const src = join(dir, "src");
  await mkdir(src);
  await writeFile(join(src, "a.txt"), "a");
  const a = await gw.addSource("web-01");
  const env = {
    COFFER_PASSWORD: "test password",
    AWS_ACCESS_KEY_ID: a.accessKeyId,
    AWS_SECRET_ACCESS_KEY: a.secretAccessKey,
    TZ: "UTC",
  };
  const coffer = (args: string[]) => runCoffer([...args, "-r", a.repository], env);
  assert.equal((await coffer(["init"])).code, 0);
  const started = Date.now();
  const old = await coffer(["backup", src, "--time", "2001-01-01 00:00:00", "--json"]);
  assert.equal(old.code, 0, old.stderr);
  const recent = await coffer(["backup", src, "--json"]);
  assert.equal(recent.code, 0, recent.stderr);
  const snaps = await coffer(["snapshots", "--json"]);
  const list = JSON.parse(snaps.stdout.toString()) as SnapshotJson[];
  assert.equal(list.length, 2);
  const [oldSnap, newSnap] = list;
  assert.ok(oldSnap !== undefined && newSnap !== undefined);
  assert.equal(oldSnap.time, "2001-01-01T00:00:00.000000000Z");
  const rows = gw.query<{ snapshot_id: string; client_time: string; committed_at: number }>(
    "SELECT snapshot_id, client_time, committed_at FROM manifests WHERE snapshot_id = ?",
    oldSnap.id,
  );
  assert.equal(rows.length, 1);
  assert.match(String(rows[0]?.client_time), /^2001-01-01T00:00:00/);
  assert.ok(Number(rows[0]?.committed_at) >= started - 1000, "the gateway records its own time");

  // The client's own forget goes by the claimed times: it would drop the 2001 snapshot.
  const client = await coffer(["forget", "--preset", "rolling-30d", "--dry-run", "--json"]);
  assert.equal(client.code, 0, client.stderr);
  const plan = JSON.parse(client.stdout.toString()) as { forgotten: { id: string }[] };
  assert.deepEqual(
    plan.forgotten.map((f) => f.id),
    [oldSnap.id],
  );

  // The gateway's retention goes by commit times: both were committed just now.
  const set = await gw.admin(["policy", "set", "web-01", "--preset", "rolling-30d"]);
  assert.equal(set.code, 0, set.stderr);
  const run = await gw.admin(["policy", "run", "web-01", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout) as {
    decision: { groups: { keep: { id: string }[]; forget: unknown[] }[] };
    filed: unknown[];
  };
  assert.deepEqual(r.filed, []);
  assert.deepEqual(
    r.decision.groups.map((g) => [g.keep.map((k) => k.id).sort(), g.forget]),
    [[[oldSnap.id, newSnap.id].sort(), []]],
  );
  const pending = await gw.admin(["deletions", "list", "--all", "--json"]);
  assert.equal(pending.code, 0, pending.stderr);
  assert.deepEqual(JSON.parse(pending.stdout), []);
});
