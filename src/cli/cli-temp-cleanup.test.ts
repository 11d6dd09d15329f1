import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cliFixture, type CliFixture } from "./testing/cli-fixture.ts";
import { spawnCoffer, type CofferChild } from "./testing/run-coffer.ts";

describe("coffer removes the temp files of interrupted runs (slow: real processes)", () => {
  let f: CliFixture;
  let small: string;
  const tmpFiles = async (): Promise<string[]> =>
    (await readdir(join(f.repo, "tmp")).catch(() => [])).sort();

  /** A `backup --stdin` fed 24 MiB with stdin left open, once its pack temp file exists. */
  async function stalledBackup(seed: number): Promise<{ run: CofferChild; temp: string }> {
    const run = spawnCoffer(
      ["backup", "--stdin", "--stdin-filename", `big-${String(seed)}.bin`],
      f.env(),
      randomBytes(24 << 20), // distinct data: nothing deduplicates
      { openStdin: true },
    );
    // Temp files are named <host tag>-<pid>-<random> (src/storage/temp-owner.ts).
    const mine = `-${String(run.child.pid)}-`;
    for (;;) {
      const temp = (await tmpFiles()).find((n) => n.includes(mine));
      if (temp !== undefined) return { run, temp };
      if (run.child.exitCode !== null) assert.fail((await run.done).stderr);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  before(async () => {
    f = await cliFixture("coffer-temp-cleanup-");
    small = join(f.dir, "small.txt");
    await writeFile(small, "hello\n");
  });
  after(async () => {
    await f.remove();
  });

  test("a backup killed mid-pack leaves a temp file; the next backup removes it and keeps a live backup's", async () => {
    const killed = await stalledBackup(1);
    killed.run.child.kill("SIGKILL");
    assert.equal((await killed.run.done).signal, "SIGKILL");
    assert.deepEqual(await tmpFiles(), [killed.temp], "the killed backup left its temp file");

    const b = await f.run(["backup", small]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /removed 1 stale temp file left by an interrupted run/);
    assert.deepEqual(await tmpFiles(), []);

    // A live backup's temp files survive another backup's cleanup; a killed one's do not.
    const live = await stalledBackup(2);
    const killed2 = await stalledBackup(3);
    killed2.run.child.kill("SIGKILL");
    await killed2.run.done;
    const b2 = await f.run(["backup", small]);
    assert.equal(b2.code, 0, b2.stderr);
    assert.match(b2.stderr, /removed 1 stale temp file left by an interrupted run/);
    const left = await tmpFiles();
    assert.ok(
      left.length > 0 && left.every((n) => n.includes(`-${String(live.run.child.pid)}-`)),
      left.join(),
    );
    live.run.child.stdin.end();
    const done = await live.run.done;
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(await tmpFiles(), []);
    const c = await f.run(["check", "--read-data"]);
    assert.equal(c.code, 0, c.stdout.toString() + c.stderr);
  });

  test("prune removes a killed backup's temp file", async () => {
    const killed = await stalledBackup(3);
    killed.run.child.kill("SIGKILL");
    await killed.run.done;
    assert.deepEqual(await tmpFiles(), [killed.temp]);
    const p = await f.run(["prune", "--json"]);
    assert.equal(p.code, 0, p.stderr);
    const report = JSON.parse(p.stdout.toString()) as { staleTempFiles: number };
    assert.equal(report.staleTempFiles, 1);
    assert.deepEqual(await tmpFiles(), []);
  });
});
