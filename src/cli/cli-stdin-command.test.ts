import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { myAdmin, myDrop, uniqueName } from "../dumps/testing/servers.ts";
import { cliFixture, type CliFixture } from "./testing/cli-fixture.ts";

/** The reproduction: quick commands were stored as 0 bytes, and `coffer` exited 0. */
describe("coffer backup --stdin-from-command and db backup store small outputs whole (slow: real processes)", () => {
  let f: CliFixture;
  const db = uniqueName("cli_tiny");
  before(async () => {
    f = await cliFixture("coffer-cli-stdin-");
    await myAdmin(`CREATE DATABASE \`${db}\``);
    await myAdmin("CREATE TABLE t (a INT); INSERT INTO t VALUES (1), (2), (3)", db);
  });
  after(async () => {
    await myDrop(db);
    await f.remove();
  });

  for (const [label, cmd, want] of [
    ["echo hello", ["echo", "hello"], Buffer.from("hello\n")],
    ["cat /etc/hosts", ["cat", "/etc/hosts"], readFileSync("/etc/hosts")],
  ] as const) {
    test(`backup --stdin-from-command -- ${label} stores every byte, 5 runs out of 5`, async () => {
      for (let i = 0; i < 5; i++) {
        const r = await f.run([
          "backup",
          "--stdin-from-command",
          "--stdin-filename",
          "e.txt",
          "--",
          ...cmd,
        ]);
        assert.equal(r.code, 0, r.stderr);
        const d = await f.run(["dump", "latest", "e.txt"]);
        assert.equal(d.code, 0, d.stderr);
        assert.deepEqual(d.stdout, want, `run ${String(i + 1)}`);
      }
    });
  }

  test("db backup --type mysql of a three-row database dumps it whole, then restores it", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await f.run(["db", "backup", "--type", "mysql", "--db", db, "--json"]);
      assert.equal(r.code, 0, r.stderr);
    }
    const d = await f.run(["dump", "latest", `${db}.sql`]);
    const text = d.stdout.toString("utf8");
    assert.match(text, /INSERT INTO `t` VALUES\s*\(1\),\s*\(2\),\s*\(3\);/);
    assert.match(text, /-- Dump completed/);
    await myDrop(db);
    const back = await f.run([
      "db",
      "restore",
      "latest",
      "--type",
      "mysql",
      "--db",
      db,
      "--create",
    ]);
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual(await myAdmin("SELECT a FROM t ORDER BY a", db), [["1"], ["2"], ["3"]]);
  });
});
