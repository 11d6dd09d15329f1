import assert from "node:assert/strict";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cliFixture, type CliFixture } from "./testing/cli-fixture.ts";

describe("coffer with a damaged key file (slow: real processes)", () => {
  let f: CliFixture;
  let keyPath: string;
  let original: Buffer;
  before(async () => {
    f = await cliFixture("coffer-key-damage-");
    const [name] = await readdir(join(f.repo, "keys"));
    assert.ok(name !== undefined);
    keyPath = join(f.repo, "keys", name);
    original = await readFile(keyPath);
  });
  after(async () => {
    await f.remove();
  });

  test("a key file with one flipped byte is named as damaged (exit 1), not reported as a wrong password", async () => {
    const bad = Buffer.from(original);
    const at = bad.indexOf('"data":"') + 12;
    bad[at] = bad[at] === 0x41 ? 0x42 : 0x41;
    await writeFile(keyPath, bad);
    try {
      const name = keyPath.slice(-64);
      for (const json of [false, true]) {
        const r = await f.run(["snapshots", ...(json ? ["--json"] : [])]);
        assert.equal(r.code, 1, r.stderr);
        assert.doesNotMatch(r.stderr, /wrong password/);
        assert.match(r.stderr, new RegExp(`key file ${name.slice(0, 8)}: damaged`));
        if (json) assert.match(r.stderr, /"code":"CORRUPT"/);
        assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      }
    } finally {
      await writeFile(keyPath, original);
    }
  });

  test("an intact key file with a wrong password still exits 12 (wrong password)", async () => {
    const r = await f.run(["snapshots"], { COFFER_PASSWORD: "not the password" });
    assert.equal(r.code, 12, r.stderr);
    assert.match(r.stderr, /wrong password/);
  });
});
