import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { isCofferError } from "../core/errors.ts";
import { testRepository } from "../engine/testing/fixtures.ts";
import { backupDatabases } from "./backup-db.ts";
import { restoreDatabase } from "./restore-db.ts";

// Each transaction adds the same id to both tables: any consistent point has a = b, 1..n.
const WRITER = `
const Database = require("better-sqlite3");
const db = new Database(process.argv[1], { timeout: 10000 });
db.pragma("journal_mode = WAL");
const ins = db.transaction((id) => {
  const p = require("node:crypto").randomBytes(600).toString("base64");
  db.prepare("insert into a (id, p) values (?, ?)").run(id, p);
  db.prepare("insert into b (id, p) values (?, ?)").run(id, p);
});
let id = db.prepare("select coalesce(max(id), 0) from a").pluck().get();
process.stdout.write("ready\\n");
for (;;) ins(++id);
`;

describe("SQLite backup under concurrent writes (real writer process)", () => {
  let dir: string;
  let src: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "coffer-sqlite-test-"));
    src = join(dir, "app.db");
    const db = new Database(src);
    db.pragma("journal_mode = WAL");
    db.exec(
      "create table a (id integer primary key, p text not null); create table b (id integer primary key, p text not null)",
    );
    const ins = db.transaction((n: number) => {
      for (let i = 1; i <= n; i++) {
        const p = `ligne ${String(i)} — ${"é".repeat(i % 50)} ${"x".repeat(400)}`;
        db.prepare("insert into a values (?, ?)").run(i, p);
        db.prepare("insert into b values (?, ?)").run(i, p);
      }
    });
    ins(20_000);
    db.close();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("the restored file passes integrity_check and is one consistent commit", async () => {
    const repo = await testRepository();
    const writer = spawn(process.execPath, ["-e", WRITER, src], {
      cwd: process.cwd(),
      stdio: ["ignore", "pipe", "inherit"],
    });
    await once(writer.stdout, "data");
    await new Promise((r) => setTimeout(r, 300));
    let outcome;
    try {
      [outcome] = await backupDatabases(repo, { type: "sqlite", connection: {}, databases: [src] });
    } finally {
      writer.kill("SIGKILL");
      await once(writer, "close");
    }
    assert.equal(outcome?.error, undefined, outcome?.error?.message);
    const snap = await repo.loadSnapshot(outcome?.snapshotId ?? "");
    assert.deepEqual(snap.tags, ["db:sqlite:app.db"]);
    assert.match(snap.meta?.["db.tool_version"] ?? "", /^SQLite 3\./);

    const target = join(dir, "restored.db");
    await restoreDatabase(repo, {
      type: "sqlite",
      snapshot: "latest",
      from: "app.db",
      database: target,
      connection: {},
    });
    const db = new Database(target, { readonly: true });
    try {
      assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
      const a = db.prepare("select count(*) n, max(id) m from a").get() as { n: number; m: number };
      const b = db.prepare("select count(*) n, max(id) m from b").get() as { n: number; m: number };
      assert.deepEqual(a, b);
      assert.equal(a.n, a.m, "ids are contiguous");
      assert.ok(a.n > 20_000, `the writer's rows before the backup are in (${String(a.n)})`);
      const mismatch = db
        .prepare("select count(*) from a join b using (id) where a.p <> b.p")
        .pluck()
        .get();
      assert.equal(mismatch, 0);
    } finally {
      db.close();
    }
    // A second restore onto the now non-empty file is refused unless told to.
    await assert.rejects(
      restoreDatabase(repo, {
        type: "sqlite",
        snapshot: "latest",
        from: "app.db",
        database: target,
        connection: {},
      }),
      (err: unknown) => isCofferError(err, "CONFLICT") && /not empty/.test(err.message),
    );
    await restoreDatabase(repo, {
      type: "sqlite",
      snapshot: "latest",
      from: "app.db",
      database: target,
      connection: {},
      dropExisting: true,
    });
  });

  test("a file that is not a SQLite database fails without a snapshot", async () => {
    const repo = await testRepository();
    const bogus = join(dir, "bogus.db");
    await writeFile(bogus, "this is not a database, just text ".repeat(100));
    const [r] = await backupDatabases(repo, { type: "sqlite", connection: {}, databases: [bogus] });
    assert.ok(r?.error !== undefined);
    assert.deepEqual(await repo.listSnapshotIds(), []);
  });
});
