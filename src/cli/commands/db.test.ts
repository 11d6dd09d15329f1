import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pgAdmin, pgChecksums, pgDrop, uniqueName } from "../../dumps/testing/servers.ts";
import { runCoffer } from "../testing/run-coffer.ts";

describe("coffer db, end to end (slow: real CLI and PostgreSQL)", () => {
  let dir: string;
  const db = uniqueName("cli");
  const target = `${db}_restored`;
  const env = (): Record<string, string> => ({
    COFFER_PASSWORD: "test password",
    COFFER_REPOSITORY: join(dir, "repo"),
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "coffer-db-cli-"));
    assert.equal((await runCoffer(["init"], env())).code, 0);
    await pgAdmin(`create database "${db}"`);
    await pgAdmin(
      "create table t (id int primary key, s text); insert into t select g, 'ligne ' || g || ' ✓' from generate_series(1, 5000) g",
      db,
    );
  });
  after(async () => {
    await pgDrop(db);
    await pgDrop(target);
    await rm(dir, { recursive: true, force: true });
  });

  test("db backup, list and restore round-trip a PostgreSQL database", async () => {
    const b = await runCoffer(
      ["db", "backup", "--type", "postgres", "--db", db, "--tag", "nightly", "--json"],
      env(),
    );
    assert.equal(b.code, 0, b.stderr);
    const summary = JSON.parse(b.stdout.toString().trim()) as {
      snapshot_id: string;
      database: string;
    };
    assert.equal(summary.database, db);
    const l = await runCoffer(["db", "list"], env());
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout.toString(), new RegExp(`postgres ${db} \\(1 snapshot\\)`));
    const s = await runCoffer(["snapshots", "--json", "--tag", `db:postgres:${db}`], env());
    const [snap] = JSON.parse(s.stdout.toString()) as {
      tags: string[];
      meta: Record<string, string>;
    }[];
    assert.deepEqual(snap?.tags, [`db:postgres:${db}`, "nightly"]);
    assert.equal(snap.meta["db.tool"], "pg_dump");

    const missing = await runCoffer(
      ["db", "restore", "latest", "--type", "postgres", "--from", db, "--db", target],
      env(),
    );
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /does not exist: add --create/);
    const r = await runCoffer(
      ["db", "restore", "latest", "--type", "postgres", "--from", db, "--db", target, "--create"],
      env(),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await pgChecksums(target), await pgChecksums(db));
    const again = await runCoffer(
      ["db", "restore", "latest", "--type", "postgres", "--from", db, "--db", target],
      env(),
    );
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not empty.*--drop-existing/);
    const drop = await runCoffer(
      [
        "db",
        "restore",
        summary.snapshot_id.slice(0, 8),
        "--type",
        "postgres",
        "--db",
        target,
        "--drop-existing",
      ],
      env(),
    );
    assert.equal(drop.code, 0, drop.stderr);
  });

  test("a failing dump exits 1 with the tool's error on one line and commits nothing", async () => {
    const before = await runCoffer(["snapshots", "--json"], env());
    const f = await runCoffer(["db", "backup", "--type", "postgres", "--db", `${db}_nope`], env());
    assert.equal(f.code, 1);
    assert.equal(f.stderr.trim().split("\n").length, 1, f.stderr);
    assert.match(f.stderr, /database ".*_nope" does not exist/);
    const down = await runCoffer(
      ["db", "backup", "--type", "postgres", "--uri", `postgres://127.0.0.1:1/${db}`],
      env(),
    );
    assert.equal(down.code, 1);
    assert.match(down.stderr, /Connection refused/);
    const afterRun = await runCoffer(["snapshots", "--json"], env());
    assert.equal(afterRun.stdout.toString(), before.stdout.toString());
  });

  test("a restore whose tool fails shows the tool's stderr", async () => {
    const r = await runCoffer(
      [
        "db",
        "restore",
        "latest",
        "--type",
        "postgres",
        "--from",
        db,
        "--db",
        target,
        "--drop-existing",
        "--user",
        "no_such_role_x",
      ],
      env(),
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no_such_role_x/);
  });

  test("db discover finds PostgreSQL and MariaDB on the socket and TCP", async () => {
    const d = await runCoffer(["db", "discover", "--json"], env());
    assert.equal(d.code, 0, d.stderr);
    const found = JSON.parse(d.stdout.toString()) as {
      type: string;
      endpoint: string;
      reachable: boolean;
      databases?: string[];
    }[];
    const pg = found.filter((i) => i.type === "postgres" && i.reachable);
    assert.ok(
      pg.some((i) => i.endpoint.startsWith("socket")) &&
        pg.some((i) => i.endpoint === "127.0.0.1:5432"),
    );
    assert.ok(pg.every((i) => i.databases?.includes(db)));
    assert.ok(found.some((i) => i.type === "mysql" && i.reachable));
  });

  test("discover names the missing privilege for a MariaDB user that sees nothing", async () => {
    const user = uniqueName("nopriv");
    const { myAdmin } = await import("../../dumps/testing/servers.ts");
    await myAdmin(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY 'pw1'`);
    try {
      const d = await runCoffer(["db", "discover", "--user", user], {
        ...env(),
        COFFER_DB_PASSWORD: "pw1",
      });
      assert.equal(d.code, 0, d.stderr);
      assert.match(d.stdout.toString(), /mysql 127\.0\.0\.1:3306: .* as coffer_t_nopriv/);
      assert.match(
        d.stdout.toString(),
        /missing privilege: user .* lacks global SHOW DATABASES, SELECT/,
      );
    } finally {
      await myAdmin(`DROP USER '${user}'@'127.0.0.1'`);
    }
  });
});
