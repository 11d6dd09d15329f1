import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pseudoRandomBytes } from "../../fsmeta/testing/make-tree.ts";
import { runCoffer } from "../testing/run-coffer.ts";
import { warningKind } from "./backup.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test("warningKind() uses the engine's kind, not the message text", () => {
  assert.equal(warningKind({ path: "/p", message: "Skipping fifo /p: not backed up" }), "error");
  assert.equal(warningKind({ path: "/p", message: "anything", kind: "skipped" }), "skipped");
  assert.equal(warningKind({ path: "/p", message: "Cannot read /p", kind: "error" }), "error");
});

test("backup onto a full disk prints one line, exits 1, commits nothing (slow: real processes, tmpfs)", async (t) => {
  const base = await mkdtemp(join(tmpdir(), "coffer-cli-full-"));
  dirs.push(base);
  const mnt = join(base, "small-disk");
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
    // Many incompressible files (more than fit): several are in the workers when it fills,
    // which used to print a "could not be read" warning for each of them.
    const src = join(base, "src");
    await mkdir(src);
    for (let i = 0; i < 8; i++)
      await writeFile(join(src, `f${String(i)}`), pseudoRandomBytes(1 << 20, 300 + i));
    const r = await runCoffer(["backup", src], env);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^coffer: Cannot .* no space left on device$/);
    assert.deepEqual(await readdir(join(mnt, "repo", "snapshots")).catch(() => []), []);
    const leftovers = (await readdir(join(mnt, "repo"), { recursive: true })).filter(
      (p) => /tmp|\.partial/.test(p) && p !== "tmp",
    );
    assert.deepEqual(leftovers, [], "no temp files are left behind");
    const j = await runCoffer(["backup", src, "--json"], env);
    assert.equal(j.code, 1, j.stderr);
    const kinds = j.stderr
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { message_type: string }).message_type)
      .filter((k) => k !== "status");
    assert.deepEqual(kinds, ["error"], j.stderr);
  } finally {
    execFileSync("umount", [mnt]);
  }
});
