import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import { pseudoRandomBytes } from "../fsmeta/testing/make-tree.ts";
import { cliFixture, type CliFixture } from "./testing/cli-fixture.ts";

/** Mounts a `size` tmpfs at `dir` (read-only when `ro`); false when this host cannot. */
function mountTmpfs(t: TestContext, dir: string, size: string, ro = false): boolean {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "ignore" });
    if (ro) execFileSync("mount", ["-o", "remount,ro", dir], { stdio: "ignore" });
    return true;
  } catch {
    t.skip("cannot mount a tmpfs here (needs root)");
    return false;
  }
}

describe("coffer restore into a read-only or full target (slow: real processes, tmpfs)", () => {
  let f: CliFixture;
  let src: string;
  before(async () => {
    f = await cliFixture("coffer-restore-target-");
    src = join(f.dir, "src");
    await mkdir(src);
    for (let i = 0; i < 120; i++)
      await writeFile(
        join(src, `f${String(i).padStart(3, "0")}`),
        pseudoRandomBytes(20_000, i + 1),
      );
    const b = await f.run(["backup", src]);
    assert.equal(b.code, 0, b.stderr);
  });
  after(async () => {
    await f.remove();
  });

  test("a read-only target fails up front with one line (exit 1), for the target and a path below it", async (t) => {
    const ro = join(f.dir, "ro");
    await mkdir(ro);
    if (!mountTmpfs(t, ro, "1m", true)) return;
    try {
      for (const target of [ro, join(ro, "below", "it")]) {
        const r = await f.run(["restore", "latest", "--target", target]);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.stderr, `coffer: Cannot restore into ${target}: read-only file system\n`);
      }
    } finally {
      execFileSync("umount", [ro]);
    }
  });

  test("a target that fills up names three files, then one summary line (exit 1); -v names them all", async (t) => {
    const full = join(f.dir, "full");
    await mkdir(full);
    if (!mountTmpfs(t, full, "1m")) return;
    try {
      const r = await f.run(["restore", "latest", "--target", full]);
      assert.equal(r.code, 1, r.stderr);
      const warnings = r.stderr.split("\n").filter((l) => l.startsWith("warning: "));
      assert.equal(warnings.length, 4, r.stderr);
      const failed = Number(/(\d+) files could NOT be restored/.exec(r.stdout.toString())?.[1]);
      assert.ok(failed > 10, r.stdout.toString());
      assert.equal(
        warnings[3],
        `warning: ${String(failed - 3)} more files could not be restored: no space left on device (ENOSPC; -v names every file)`,
      );
      execFileSync("sh", ["-c", `rm -rf '${full}'/*`]);
      const v = await f.run(["restore", "latest", "--target", full, "-v"]);
      assert.equal(v.code, 1);
      const named = v.stderr.split("\n").filter((l) => l.startsWith("warning: cannot restore "));
      assert.ok(named.length > 10, v.stderr);
      assert.ok((await readdir(full)).length > 0);
    } finally {
      execFileSync("umount", [full]);
    }
  });
});
