import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pseudoRandomBytes } from "../fsmeta/testing/make-tree.ts";
import { cliFixture, type CliFixture } from "./testing/cli-fixture.ts";
import { runCoffer, spawnCoffer } from "./testing/run-coffer.ts";

/** Starts `coffer backup --json` and resolves once it reports progress (so it is mid-backup). */
async function backupUntilProgress(f: CliFixture, src: string, signal: NodeJS.Signals) {
  const run = spawnCoffer(["backup", src, "--json"], f.env({ COFFER_PROGRESS_FPS: "50" }));
  let sent = false;
  run.child.stderr.on("data", (b: Buffer) => {
    if (!sent && b.toString().includes('"message_type":"status"')) {
      sent = true;
      run.child.kill(signal);
    }
  });
  const r = await run.done;
  assert.ok(sent, `the backup ended before reporting progress: ${r.stderr}`);
  return r;
}

describe("coffer under interruption, kills and a full disk (slow: real processes)", () => {
  let f: CliFixture;
  let src: string;
  const count = async (): Promise<number> =>
    (await readdir(join(f.repo, "snapshots")).catch(() => [])).length;

  before(async () => {
    f = await cliFixture("coffer-cli-errors-");
    src = join(f.dir, "src");
    await mkdir(src);
    for (let i = 0; i < 6; i++)
      await writeFile(join(src, `part${String(i)}`), pseudoRandomBytes(6 << 20, 100 + i));
  });
  after(async () => {
    await f.remove();
  });

  test("SIGINT during a backup exits 130 and commits nothing; check passes", async () => {
    const r = await backupUntilProgress(f, src, "SIGINT");
    assert.equal(r.code, 130, r.stderr);
    const err = r.stderr.trim().split("\n").pop() ?? "";
    const e = JSON.parse(err) as { message_type: string; code: string; message: string };
    assert.equal(e.message_type, "error");
    assert.equal(e.code, "INTERRUPTED");
    assert.match(e.message, /interrupted/i);
    assert.equal(await count(), 0);
    const c = await f.run(["check"]);
    assert.equal(c.code, 0, c.stdout.toString() + c.stderr);
  });

  test("a backup killed with SIGKILL leaves a repository that check passes; the next backup succeeds", async () => {
    const r = await backupUntilProgress(f, src, "SIGKILL");
    assert.equal(r.signal, "SIGKILL");
    assert.equal(await count(), 0);
    const c = await f.run(["check", "--read-data"]);
    assert.equal(c.code, 0, c.stdout.toString() + c.stderr);
    const b = await f.run(["backup", src]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(await count(), 1);
    const c2 = await f.run(["check", "--read-data"]);
    assert.equal(c2.code, 0, c2.stdout.toString() + c2.stderr);
  });

  test("key passwd: afterwards the old password is refused (exit 12) and the new one works", async () => {
    const pw = join(f.dir, "new-pw");
    await writeFile(pw, "brand new\n");
    const p = await f.run(["key", "passwd", "--new-password-file", pw]);
    assert.equal(p.code, 0, p.stderr);
    const old = await f.run(["snapshots"]);
    assert.equal(old.code, 12);
    assert.equal(old.stderr.trim().split("\n").length, 1);
    assert.match(old.stderr, /wrong password/);
    const fresh = await f.run(["snapshots"], { COFFER_PASSWORD: "brand new" });
    assert.equal(fresh.code, 0, fresh.stderr);
  });

  test("a full disk: backup fails with one line, saves nothing, leaves no partial objects; later backups work", async (t) => {
    const mnt = join(f.dir, "small-disk");
    await mkdir(mnt);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt], { stdio: "ignore" });
    } catch {
      t.skip("cannot mount a 2 MiB tmpfs here (needs root)");
      return;
    }
    try {
      const env = { COFFER_REPOSITORY: join(mnt, "repo"), COFFER_PASSWORD: "test password" };
      assert.equal((await runCoffer(["init"], env)).code, 0);
      const big = join(f.dir, "big");
      await mkdir(big);
      await writeFile(join(big, "three-mib"), pseudoRandomBytes(3 << 20, 9));
      const r = await runCoffer(["backup", big], env);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^coffer: .*no space left on device/);
      const leftovers = (await readdir(join(mnt, "repo"), { recursive: true })).filter(
        (p) => /tmp|\.partial/.test(p) && p !== "tmp",
      );
      assert.deepEqual(leftovers, [], "no temp files are left behind");
      const s = await runCoffer(["snapshots", "--json"], env);
      assert.deepEqual(JSON.parse(s.stdout.toString()), []);
      const c = await runCoffer(["check"], env);
      assert.equal(c.code, 0, c.stdout.toString());
      const small = join(f.dir, "small");
      await mkdir(small);
      await writeFile(join(small, "note"), "fits\n");
      const ok = await runCoffer(["backup", small], env);
      assert.equal(ok.code, 0, ok.stderr);
    } finally {
      execFileSync("umount", [mnt]);
    }
  });
});
