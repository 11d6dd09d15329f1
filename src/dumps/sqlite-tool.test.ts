import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { isCofferError } from "../core/errors.ts";
import { restoreSqliteFile, sqliteConsistentCopy, sqliteLibraryVersion } from "./sqlite.ts";

function bytes(b: Uint8Array): AsyncIterable<Uint8Array> {
  return (async function* () {
    yield await Promise.resolve(b);
  })();
}

describe("SQLite dumps through the sqlite3 command-line tool", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "coffer-sqlite-tool-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("sqliteConsistentCopy() copies a database whose name holds URI and shell characters", async () => {
    const sub = join(dir, `a "q" 100% ?x=1 #frag \\ é`);
    await mkdir(sub);
    const src = join(sub, "app.db");
    const db = new Database(src);
    db.exec(
      "create table t (id integer primary key, v text); insert into t (v) values ('one'), ('two')",
    );
    db.close();
    const copy = await sqliteConsistentCopy(src);
    try {
      const c = new Database(copy.path, { readonly: true });
      assert.deepEqual(c.prepare("select v from t order by id").pluck().all(), ["one", "two"]);
      c.close();
      assert.equal(copy.size, (await readFile(copy.path)).length);
    } finally {
      await copy.dispose();
    }
    assert.equal(existsSync(copy.path), false, "dispose() removes the copy");
  });

  test("sqliteConsistentCopy() refuses a missing file and does not create it", async () => {
    const missing = join(dir, "missing.db");
    await assert.rejects(sqliteConsistentCopy(missing), (err: unknown) => {
      assert.ok(isCofferError(err, "NOT_FOUND"), String(err));
      assert.match(err.message, /^Cannot open SQLite database .*missing\.db: not found$/);
      return true;
    });
    assert.equal(existsSync(missing), false);
  });

  test("without the sqlite3 tool, backup and restore fail with one line that says what to install", async () => {
    const src = join(dir, "plain.db");
    const db = new Database(src);
    db.exec("create table t (x)");
    db.close();
    const env = { PATH: join(dir, "no-such-bin") };
    const oneLine = (err: unknown): boolean =>
      isCofferError(err, "COMMAND_FAILED") &&
      !err.message.includes("\n") &&
      /sqlite3 command-line tool is not installed \(Debian: apt install sqlite3\)$/.test(
        err.message,
      );
    await assert.rejects(sqliteConsistentCopy(src, { env }), oneLine);
    await assert.rejects(sqliteLibraryVersion({ env }), oneLine);
    const target = join(dir, "restored.db");
    await assert.rejects(
      restoreSqliteFile(bytes(await readFile(src)), target, { dropExisting: false, env }),
      oneLine,
    );
    assert.equal(existsSync(target), false, "nothing is left at the target");
  });

  test("sqliteLibraryVersion() is the tool's dotted version", async () => {
    assert.match(await sqliteLibraryVersion(), /^3\.\d+(\.\d+)*$/);
  });
});
