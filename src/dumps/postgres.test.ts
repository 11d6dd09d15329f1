import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { testRepository } from "../engine/testing/fixtures.ts";
import { backupDatabases } from "./backup-db.ts";
import { listDbSnapshots } from "./list.ts";
import { restoreDatabase } from "./restore-db.ts";
import { pgAdmin, pgChecksums, pgDrop, uniqueName } from "./testing/servers.ts";

const run = promisify(execFile);

describe("PostgreSQL dumps against the real server (slow: ~60 MB of tables)", () => {
  const db = uniqueName("pg");
  const r1 = `${db}_r1`;
  const r2 = `${db}_r2`;

  before(async () => {
    await pgAdmin(`create database "${db}"`);
    // pgbench's small tables; its accounts table is replaced below: a blank-padded filler
    // has no content-defined cut points, so it would only measure forced 8 MiB cuts.
    await run("pgbench", ["-i", "-s", "1", "-q", db]);
    await pgAdmin(
      `create table accounts (aid int primary key, bid int not null, abalance int not null, email text not null, note text not null);
       insert into accounts select g, g % 50, (g::bigint * 7919) % 100000, 'user' || g || '@exemple.fr',
         md5(g::text) || ' ' || md5((g * 31)::text) from generate_series(1, 300000) g;
       create table blobs (id int primary key, data bytea not null, note text);
       insert into blobs select g, decode((select string_agg(md5(g::text || ':' || i), '') from generate_series(1, 256) i), 'hex'),
         'Blob n°' || g from generate_series(1, 300) g;
       create table words (id serial primary key, s text not null);
       insert into words (s) select 'Grüße, 日本語, Ελληνικά, emoji 🎉 ' || g from generate_series(1, 20000) g;`,
      db,
    );
  });
  after(async () => {
    for (const d of [db, r1, r2]) await pgDrop(d);
  });

  // The 1% of rows changed is one contiguous range (plus appended rows): with 1 MiB average
  // chunks, changes scattered one every ~10 KB would touch every chunk (see ADR 0005).
  test("two dumps around a 1% change restore to exactly the source contents, and dedup", async (t) => {
    const repo = await testRepository();
    const before1 = await pgChecksums(db);
    assert.ok(Object.keys(before1).length >= 5);
    const [first] = await backupDatabases(repo, {
      type: "postgres",
      connection: {},
      databases: [db],
      time: "2026-03-01T00:00:00Z",
    });
    assert.equal(first?.error, undefined, first?.error?.message);
    await pgAdmin(
      `update pgbench_accounts set abalance = abalance + 7 where aid % 100 = 0;
       update blobs set note = 'changed ✓' where id % 100 = 0;
       insert into words (s) select 'nouveau mot é ' || g from generate_series(1, 200) g;`,
      db,
    );
    const before2 = await pgChecksums(db);
    assert.notDeepEqual(before1, before2);
    const [second] = await backupDatabases(repo, {
      type: "postgres",
      connection: {},
      databases: [db],
      time: "2026-03-02T00:00:00Z",
    });
    assert.equal(second?.error, undefined, second?.error?.message);
    const total = second?.bytes ?? 0;
    const stored1 = first?.storedBytes ?? 0;
    const stored2 = second?.storedBytes ?? 0;
    t.diagnostic(
      `dump ${String(total)} bytes; first stored ${String(stored1)}, second stored ${String(stored2)}`,
    );
    assert.ok(total > 40_000_000, `dump is ${String(total)} bytes`);
    const chunks = async (id: string): Promise<string[]> =>
      (await repo.loadTree((await repo.loadSnapshot(id)).tree))[0]?.content ?? [];
    const c1 = new Set(await chunks(first?.snapshotId ?? ""));
    const c2 = await chunks(second?.snapshotId ?? "");
    const shared = c2.filter((c) => c1.has(c)).length / c2.length;
    t.diagnostic(
      `${String(c2.length)} chunks, ${(shared * 100).toFixed(0)}% shared with the first dump`,
    );
    assert.ok(
      shared >= 0.6,
      `only ${(shared * 100).toFixed(0)}% of the second dump's chunks are shared`,
    );

    const snap = await repo.loadSnapshot(second?.snapshotId ?? "");
    assert.deepEqual(snap.tags, [`db:postgres:${db}`]);
    assert.deepEqual(snap.paths, [`/${db}.sql`]);
    assert.equal(snap.meta?.["db.tool"], "pg_dump");
    assert.match(snap.meta["db.tool_version"] ?? "", /^pg_dump \(PostgreSQL\) \d+/);
    assert.match(snap.meta["db.server_version"] ?? "", /^\d+\.\d+/);

    const groups = await listDbSnapshots(repo);
    assert.equal(groups.length, 1);
    assert.deepEqual(
      groups[0]?.snapshots.map((s) => s.id),
      [first?.snapshotId, second?.snapshotId],
    );

    await restoreDatabase(repo, {
      type: "postgres",
      snapshot: first?.snapshotId ?? "",
      database: r1,
      connection: {},
      create: true,
    });
    const latest = await restoreDatabase(repo, {
      type: "postgres",
      snapshot: "latest",
      from: db,
      database: r2,
      connection: {},
      create: true,
    });
    assert.equal(latest.snapshotId, second?.snapshotId);
    assert.deepEqual(await pgChecksums(r1), before1);
    assert.deepEqual(await pgChecksums(r2), before2);
  });
});
