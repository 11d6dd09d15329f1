import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCoffer } from "../cli/testing/run-coffer.ts";
import { pgDumpHasRestrictKey, postgresDriver, restrictKey } from "./postgres.ts";
import { pgAdmin, pgChecksums, pgDrop, uniqueName } from "./testing/servers.ts";

test("restrictKey() is stable per repository key and database, differs otherwise, and is 32 hex characters", () => {
  const a = Buffer.alloc(32, 1);
  const b = Buffer.alloc(32, 2);
  assert.equal(restrictKey(a, "shop"), restrictKey(a, "shop"));
  assert.notEqual(restrictKey(a, "shop"), restrictKey(a, "shop2"));
  assert.notEqual(restrictKey(a, "shop"), restrictKey(b, "shop"));
  assert.match(restrictKey(a, "shop"), /^[0-9a-f]{32}$/);
});

describe("identical PostgreSQL dumps deduplicate despite pg_dump's \\restrict line (slow: real PostgreSQL)", () => {
  let dir: string;
  const db = uniqueName("restrict");
  const target = `${db}_back`;
  const env = (): Record<string, string> => ({
    COFFER_PASSWORD: "test password",
    COFFER_REPOSITORY: join(dir, "repo"),
  });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "coffer-restrict-"));
    assert.equal((await runCoffer(["init"], env())).code, 0);
    await pgAdmin(`create database "${db}"`);
    await pgAdmin(
      "create table t (id int primary key, s text); insert into t select g, repeat('row ', 50) || g from generate_series(1, 100000) g",
      db,
    );
  });
  after(async () => {
    await pgDrop(db);
    await pgDrop(target);
    await rm(dir, { recursive: true, force: true });
  });

  test("a second dump of an unchanged database adds almost nothing, and restores", async (t) => {
    if (!(await pgDumpHasRestrictKey(process.env))) {
      t.skip("this pg_dump writes no \\restrict line (older than 13.22/14.19/15.14/16.10/17.6)");
      return;
    }
    const added: number[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await runCoffer(
        ["db", "backup", "--type", "postgres", "--db", db, "--json"],
        env(),
      );
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout.toString().trim().split("\n").pop() ?? "") as {
        bytes: number;
        added_bytes: number;
      };
      assert.ok(s.bytes > 10 << 20, `a dump of ${String(s.bytes)} bytes`);
      added.push(s.added_bytes);
    }
    // Only the new snapshot's tree is new: before, the first and last chunks were (MBs).
    assert.ok((added[1] ?? Infinity) < 64 * 1024, `second dump added ${String(added[1])} bytes`);
    const dump = await runCoffer(["dump", "latest", `/${db}.sql`], env());
    const text = dump.stdout.toString();
    assert.match(text, /^\\restrict [0-9a-f]{32}$/m);
    assert.match(text, /^\\unrestrict [0-9a-f]{32}$/m);
    const r = await runCoffer(
      ["db", "restore", "latest", "--type", "postgres", "--from", db, "--db", target, "--create"],
      env(),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await pgChecksums(target), await pgChecksums(db));
  });
});

test("a non-empty restore target is refused naming its objects in the right number (1 object, 2 objects)", async () => {
  const db = uniqueName("plural");
  try {
    await pgAdmin(`create database "${db}"`);
    await pgAdmin("create table one (a int)", db);
    const refused = (): Promise<void> =>
      postgresDriver
        .prepareTarget({}, postgresDriver.env({}, process.env), db, {
          create: false,
          dropExisting: false,
        })
        .then(() => undefined);
    await assert.rejects(refused(), /it is not empty \(1 object\); use --drop-existing/);
    await pgAdmin("create table two (a int)", db);
    await assert.rejects(refused(), /it is not empty \(2 objects\); use --drop-existing/);
  } finally {
    await pgDrop(db);
  }
});
