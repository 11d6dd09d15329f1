import assert from "node:assert/strict";
import { lstat, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { hasNanosecondTimes, restoredTimeNs, setTimesNs } from "./utimens.ts";

test("setTimesNs() sets atime and mtime to the nanosecond, without following symlinks", async () => {
  assert.ok(hasNanosecondTimes(), "the native addon is built by npm install (binding.gyp)");
  const dir = await mkdtemp(join(tmpdir(), "coffer-utimens-"));
  try {
    const f = join(dir, "f");
    await writeFile(f, "x");
    const l = join(dir, "l");
    await symlink("f", l);
    for (const ns of [
      1_700_000_000_123_456_789n,
      1n,
      4_000_000_000_999_999_999n,
      -1_500_000_001n,
    ]) {
      await setTimesNs(f, ns + 7n, ns);
      const st = await lstat(f, { bigint: true });
      assert.equal(st.mtimeNs, ns);
      assert.equal(st.atimeNs, ns + 7n);
      assert.equal(restoredTimeNs(ns), ns);
    }
    const before = (await lstat(f, { bigint: true })).mtimeNs;
    await setTimesNs(l, 1_234_567_890_000_000_001n, 1_234_567_890_000_000_001n);
    assert.equal((await lstat(l, { bigint: true })).mtimeNs, 1_234_567_890_000_000_001n);
    assert.equal((await lstat(f, { bigint: true })).mtimeNs, before);
    // Names in any bytes.
    const odd = Buffer.concat([Buffer.from(dir + "/"), Buffer.from([0x66, 0xff, 0xfe])]);
    await writeFile(odd, "y");
    await setTimesNs(odd, 5n, 1_000_000_000_000_000_005n);
    assert.equal((await lstat(odd, { bigint: true })).mtimeNs, 1_000_000_000_000_000_005n);
    await assert.rejects(setTimesNs(join(dir, "missing"), 1n, 1n), { code: "ENOENT" });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
