// The gateway runs in this process on a FakeClock: its maintenance schedule still ticks every
// second, but every decision (what is due, when a deletion executes) reads the fake time, so
// a loaded machine cannot make the pending deletion execute before the test has looked at it.
import Database from "better-sqlite3";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { FakeClock } from "../../core/deps.ts";
import type { RunningServer } from "../../server/server.ts";
import { runCoffer } from "../testing/run-coffer.ts";
import { runServerCli } from "./run.ts";

interface DeletionJson {
  id: number;
  source: string;
  key: string;
  reason: string;
  requestedBy: string;
  requestedAt: string;
  executeAfter: string;
  state: string;
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** An in-process `coffer-server start` on a FakeClock, and its admin commands. */
interface Gateway {
  dataDir: string;
  clock: FakeClock;
  stderr(): string;
  admin(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  query<T>(sql: string, ...params: unknown[]): T[];
  stop(): Promise<void>;
}

async function startGateway(config: string): Promise<Gateway & { endpoint: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), "coffer-maint-gw-"));
  const cfgFile = join(dataDir, "..", `${dataDir.split("/").pop() ?? "gw"}.yaml`);
  await writeFile(cfgFile, config);
  const clock = new FakeClock(Date.now());
  const err: string[] = [];
  let running: RunningServer | undefined;
  const done = runServerCli(
    ["start", "--config", cfgFile, "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--http"],
    { out: () => undefined, err: (l) => err.push(l) },
    (s) => (running = s),
    clock,
  );
  while (running === undefined) {
    if (err.some((l) => !l.includes("listening"))) throw new Error(err.join("\n"));
    await new Promise((r) => setTimeout(r, 20));
  }
  const server = running;
  let db: Database.Database | undefined;
  return {
    dataDir,
    clock,
    endpoint: server.endpoint,
    stderr: () => err.join("\n"),
    async admin(args) {
      const out: string[] = [];
      const e: string[] = [];
      const code = await runServerCli([...args, "--config", cfgFile, "--data-dir", dataDir], {
        out: (l) => out.push(l),
        err: (l) => e.push(l),
      });
      return { code, stdout: out.join("\n"), stderr: e.join("\n") };
    },
    query: <T>(sql: string, ...params: unknown[]): T[] =>
      (db ??= new Database(join(dataDir, "metadata.sqlite"), { readonly: true }))
        .prepare(sql)
        .all(...params) as T[],
    async stop() {
      db?.close();
      await server.close();
      await done;
      await rm(dataDir, { recursive: true, force: true });
      await rm(cfgFile, { force: true });
    },
  };
}

/** Polls `fn` every 200 ms until it returns a value (the generous limit only stops a hung test). */
async function until<T>(what: string, fn: () => Promise<T | undefined>, gw: Gateway) {
  const limit = Date.now() + 120_000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > limit) throw new Error(`gave up waiting for ${what}: ${gw.stderr()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function deletions(gw: Gateway): Promise<DeletionJson[]> {
  const r = await gw.admin(["deletions", "list", "--all", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as DeletionJson[];
}

function chattr(flag: "+i" | "-i", path: string): boolean {
  try {
    execFileSync("chattr", [flag, path], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

test("coffer-server start runs retention and the executor on its own schedule; a failed pass is one line and the server keeps serving (slow: real processes)", async (t) => {
  // No floor on minDeletionDelay: an operator may shorten it; here 10s of the gateway's clock,
  // which the test advances, so it watches the deletion pending, then executed by the schedule.
  const gw = await startGateway(
    "minDeletionDelay: 10s\nmaintenance:\n  interval: 1s\nretention:\n  floor: { minAge: 0, days: 0 }\n",
  );
  cleanups.push(() => gw.stop());
  const dir = await mkdtemp(join(tmpdir(), "coffer-maint-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const src = join(dir, "src");
  await mkdir(src);
  await writeFile(join(src, "a.txt"), "first");
  const added = await gw.admin(["source", "add", "web-01", "--json"]);
  assert.equal(added.code, 0, added.stderr);
  const a = JSON.parse(added.stdout) as {
    bucket: string;
    accessKeyId: string;
    secretAccessKey: string;
  };
  const repository = `s3:${gw.endpoint}/${a.bucket}`;
  const env = {
    COFFER_PASSWORD: "test password",
    AWS_ACCESS_KEY_ID: a.accessKeyId,
    AWS_SECRET_ACCESS_KEY: a.secretAccessKey,
  };
  const coffer = (args: string[]) => runCoffer([...args, "-r", repository], env);
  const snapshotIds = async (): Promise<{ id: string; deletion?: { state: string } }[]> => {
    const r = await coffer(["snapshots", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout.toString()) as { id: string; deletion?: { state: string } }[];
  };

  assert.equal((await coffer(["init"])).code, 0);
  const b1 = await coffer(["backup", src, "--host", "web-01", "-q"]);
  assert.equal(b1.code, 0, b1.stderr);
  await writeFile(join(src, "a.txt"), "second");
  gw.clock.advance(60_000); // the gateway orders snapshots by its own commit times
  const b2 = await coffer(["backup", src, "--host", "web-01", "-q"]);
  assert.equal(b2.code, 0, b2.stderr);
  const [first, second] = (await snapshotIds()).map((s) => s.id);
  assert.ok(first !== undefined && second !== undefined);

  const set = await gw.admin(["policy", "set", "web-01", "--keep-last", "1"]);
  assert.equal(set.code, 0, set.stderr);

  // Nobody runs `policy run` or `deletions run`: the schedule files the retention deletion.
  const pending = await until(
    "a retention deletion",
    async () => {
      const rows = (await deletions(gw)).filter((d) => d.reason === "retention");
      return rows.length > 0 ? rows : undefined;
    },
    gw,
  );
  const manifestKey = gw.query<{ key: string }>(
    "SELECT key FROM manifests WHERE snapshot_id = ?",
    first,
  )[0]?.key;
  assert.match(manifestKey ?? "", /^manifests\/[0-9a-f]{64}$/);
  assert.deepEqual(pending.map((d) => [d.key, d.state, d.requestedBy]).sort(), [
    [manifestKey, "PENDING", "retention"],
    [`snapshots/${first}`, "PENDING", "retention"],
  ]);
  for (const d of pending) {
    // Filed at the gateway's (fake) time; the metadata keeps whole seconds.
    assert.equal(Date.parse(d.requestedAt), Math.floor(gw.clock.now() / 1000) * 1000);
    assert.equal(Date.parse(d.executeAfter) - Date.parse(d.requestedAt), 10_000);
  }
  const listed = await snapshotIds();
  assert.deepEqual(
    listed.map((s) => [s.id, s.deletion?.state]),
    [
      [first, "pending"],
      [second, undefined],
    ],
  );

  // Nothing is due until the gateway's clock says so, however long this machine takes.
  gw.clock.advance(10_000);

  // The executor cannot delete the snapshot file (an immutable directory, even for root).
  const snapDir = join(gw.dataDir, "objects", "buckets", a.bucket, "snapshots");
  const locked = chattr("+i", snapDir);
  if (locked) {
    cleanups.push(() => {
      chattr("-i", snapDir);
      return Promise.resolve();
    });
    const line = await until(
      "a maintenance failure",
      () =>
        Promise.resolve(
          gw
            .stderr()
            .split("\n")
            .find((l) => l.includes("maintenance")),
        ),
      gw,
    );
    assert.match(
      line,
      new RegExp(
        `^coffer-server: maintenance \\(retention, GC, deletions\\) failed, retrying in 1s: Cannot delete buckets/${a.bucket}/snapshots/${first} in local:${gw.dataDir}/objects: permission denied$`,
      ),
    );
    // Still serving: reads work, and the deletion is still pending (started, retried next pass).
    assert.deepEqual(
      (await snapshotIds()).map((s) => [s.id, s.deletion?.state]),
      [
        [first, "pending"],
        [second, undefined],
      ],
    );
    assert.ok(chattr("-i", snapDir));
  } else {
    t.diagnostic("chattr +i is not available here: the failure half is not exercised");
  }

  const executed = await until(
    "the executed deletion",
    async () => {
      const rows = (await deletions(gw)).filter((d) => d.reason === "retention");
      return rows.every((d) => d.state === "EXECUTED") ? rows : undefined;
    },
    gw,
  );
  assert.equal(executed.length, 2);
  assert.ok(!existsSync(join(gw.dataDir, "objects", "buckets", a.bucket, "snapshots", first)));
  assert.ok(existsSync(join(gw.dataDir, "objects", "buckets", a.bucket, "snapshots", second)));
  assert.deepEqual(
    (await snapshotIds()).map((s) => s.id),
    [second],
  );
  const restore = await coffer(["restore", "latest", "--target", join(dir, "out")]);
  assert.equal(restore.code, 0, restore.stderr);
});
