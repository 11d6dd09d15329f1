// The CLI as operators use it (issue 12): a closed pipe, -q for cron, init's refusals.
import assert from "node:assert/strict";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pseudoRandomBytes } from "../fsmeta/testing/make-tree.ts";
import { cliFixture, type CliFixture } from "./testing/cli-fixture.ts";
import { runCoffer, spawnCoffer } from "./testing/run-coffer.ts";

describe("coffer for operators (slow: real processes)", () => {
  let f: CliFixture;
  let src: string;
  before(async () => {
    f = await cliFixture("coffer-operator-");
    src = join(f.dir, "src");
    await mkdir(join(src, "many"), { recursive: true });
    for (let i = 0; i < 1500; i++)
      await writeFile(
        join(src, "many", `file-with-a-long-name-${String(i).padStart(5, "0")}.txt`),
        "x",
      );
    await writeFile(join(src, "big.bin"), pseudoRandomBytes(4 << 20, 7));
    const b = await f.run(["backup", src]);
    assert.equal(b.code, 0, b.stderr);
  });
  after(async () => {
    await f.remove();
  });

  /** Runs `coffer args`, reads the first chunk of stdout, then closes the pipe (like `| head`). */
  async function closedPipe(args: string[]) {
    const run = spawnCoffer(args, f.env());
    let got = 0;
    run.child.stdout.once("data", (b: Buffer) => {
      got = b.length;
      run.child.stdout.destroy();
    });
    const r = await run.done;
    assert.ok(got > 0, `no output before the pipe closed: ${r.stderr}`);
    return r;
  }

  for (const [label, args] of [
    ["ls latest", () => ["ls", "latest"]],
    ["ls latest --json", () => ["ls", "latest", "--json"]],
    ["dump latest FILE", () => ["dump", "latest", join(src, "big.bin")]],
  ] as const) {
    test(`coffer ${label} | head: exits 141 without a word on a closed pipe`, async () => {
      const r = await closedPipe(args());
      assert.equal(r.stderr, "", "no stack trace, no message");
      assert.equal(r.code, 141, `exit code (signal ${String(r.signal)})`);
    });
  }

  test("-q: a successful backup, restore, check and init print nothing", async () => {
    const small = join(f.dir, "small.txt");
    await writeFile(small, "hello\n");
    for (const args of [
      ["backup", small, "-q"],
      ["restore", "latest", "--target", join(f.dir, "restored"), "-q"],
      ["check", "-q"],
      ["check", "--read-data", "--quiet"],
    ]) {
      const r = await f.run(args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString() + r.stderr, "", `coffer ${args.join(" ")}`);
    }
    const i = await runCoffer(["init", "-q", "-r", join(f.dir, "quiet-repo")], {
      COFFER_PASSWORD: f.password,
    });
    assert.equal(i.code, 0, i.stderr);
    assert.equal(i.stdout.toString() + i.stderr, "");
    // Without -q they do report.
    const b = await f.run(["backup", small]);
    assert.match(b.stdout.toString(), /snapshot [0-9a-f]{8} saved/);
  });

  test("init refuses a non-empty directory and a short password, each in one line (exit 2), creating nothing", async () => {
    const full = join(f.dir, "full");
    await mkdir(full);
    await writeFile(join(full, "notes.txt"), "mine");
    const r = await runCoffer(["init", "-r", full], { COFFER_PASSWORD: f.password });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /not empty.*notes\.txt/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.deepEqual(await readdir(full), ["notes.txt"]);

    const fresh = join(f.dir, "fresh");
    for (const pw of ["x", "1234567", "pässwör"]) {
      const s = await runCoffer(["init", "-r", fresh], { COFFER_PASSWORD: pw });
      assert.equal(s.code, 2, s.stderr);
      assert.match(s.stderr, /at least 8.*--insecure-password/);
      assert.equal(s.stderr.trim().split("\n").length, 1);
    }
    await assert.rejects(readdir(fresh), "nothing was created");
    const ok = await runCoffer(["init", "-r", fresh, "--insecure-password"], {
      COFFER_PASSWORD: "x",
    });
    assert.equal(ok.code, 0, ok.stderr);
    const eight = await runCoffer(["init", "-r", join(f.dir, "eight")], {
      COFFER_PASSWORD: "pässwörd",
    });
    assert.equal(eight.code, 0, eight.stderr);
  });

  test("COFFER_TLS_FINGERPRINT in the environment (for a gateway) does not break a local repository; the flag is refused", async () => {
    const fp =
      "86:E6:72:75:F4:43:FE:69:40:CE:14:2B:DC:64:B9:2C:41:61:5E:91:21:88:5E:5D:D7:6A:91:E0:00:C8:CC:EF";
    const r = await f.run(["snapshots"], {
      COFFER_TLS_FINGERPRINT: fp,
      COFFER_TLS_CA: "/nonexistent.pem",
    });
    assert.equal(r.code, 0, r.stderr);
    const flag = await f.run(["snapshots", "--tls-fingerprint", fp]);
    assert.equal(flag.code, 2, flag.stderr);
    assert.match(flag.stderr, /only applies to s3: repositories/);
  });

  test("-v: backup says which repository, what the scan found and which parent it used; without -v it does not", async () => {
    const dir = join(f.dir, "verbose-src");
    await mkdir(dir);
    await writeFile(join(dir, "one.txt"), "1");
    await writeFile(join(dir, "two.txt"), "22");
    const quiet = await f.run(["backup", dir]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, "");
    const v = await f.run(["backup", dir, "-v"]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stderr, /^open repository [0-9a-f]{10} at local:/m);
    assert.match(v.stderr, /^scan finished in \d+:\d\d: 2 files, 1 directory, 3 B$/m);
    assert.match(v.stderr, /^parent snapshot [0-9a-f]{8}: unchanged files were not read again$/m);
  });

  test("key add and key passwd refuse a short new password unless --insecure-password", async () => {
    const r = await f.run(["key", "add"], { COFFER_NEW_PASSWORD: "short" });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /new password of 5 characters/);
    const p = await f.run(["key", "passwd"], { COFFER_NEW_PASSWORD: "short" });
    assert.equal(p.code, 2, p.stderr);
    const ok = await f.run(["key", "add", "--insecure-password"], { COFFER_NEW_PASSWORD: "short" });
    assert.equal(ok.code, 0, ok.stderr);
  });
});
