import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { testRepository } from "../engine/testing/fixtures.ts";
import { backupDatabases } from "./backup-db.ts";
import { restoreDatabase } from "./restore-db.ts";
import { myAdmin, myChecksums, myDrop, uniqueName } from "./testing/servers.ts";

describe("MariaDB dumps against the real server (slow: ~30 MB of tables)", () => {
  const db = uniqueName("my");
  const r1 = `${db}_r1`;
  const r2 = `${db}_r2`;
  before(async () => {
    await myAdmin(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`);
    await myAdmin(
      `CREATE TABLE accounts (aid INT PRIMARY KEY, abalance INT NOT NULL, email VARCHAR(100) NOT NULL, note TEXT NOT NULL) ENGINE=InnoDB;
       INSERT INTO accounts SELECT seq, (seq * 7919) % 100000, CONCAT('user', seq, '@exemple.fr'), CONCAT(MD5(seq), ' ', MD5(seq * 31), ' Grüße 日本語 🎉')
         FROM seq_1_to_200000;
       CREATE TABLE blobs (id INT PRIMARY KEY, data LONGBLOB NOT NULL) ENGINE=InnoDB;
       INSERT INTO blobs SELECT seq, RANDOM_BYTES(1024) FROM seq_1_to_2000;
       CREATE FUNCTION double_it(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
       CREATE TRIGGER accounts_bi BEFORE INSERT ON accounts FOR EACH ROW SET NEW.note = CONCAT(NEW.note, '');
       CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM blobs WHERE id < 0;`,
      db,
    );
  });
  after(async () => {
    for (const d of [db, r1, r2]) await myDrop(d);
  });

  test("two dumps around a 1% change restore to the source's checksums, routines and events included", async (t) => {
    const repo = await testRepository();
    const sums1 = await myChecksums(db);
    const [first] = await backupDatabases(repo, {
      type: "mysql",
      connection: {},
      databases: [db],
      time: "2026-03-01T00:00:00Z",
    });
    assert.equal(first?.error, undefined, first?.error?.message);
    await myAdmin(
      `UPDATE accounts SET abalance = abalance + 1 WHERE aid BETWEEN 100001 AND 102000; UPDATE blobs SET data = RANDOM_BYTES(1024) WHERE id <= 20`,
      db,
    );
    const sums2 = await myChecksums(db);
    assert.notDeepEqual(sums1, sums2);
    const [second] = await backupDatabases(repo, {
      type: "mysql",
      connection: {},
      databases: [db],
      time: "2026-03-02T00:00:00Z",
    });
    assert.equal(second?.error, undefined, second?.error?.message);
    t.diagnostic(
      `dump ${String(second?.bytes)} bytes; stored ${String(first?.storedBytes)} then ${String(second?.storedBytes)}`,
    );
    assert.ok((second?.storedBytes ?? 0) < (first?.storedBytes ?? 0) * 0.5);

    const snap = await repo.loadSnapshot(second?.snapshotId ?? "");
    assert.deepEqual(snap.tags, [`db:mysql:${db}`]);
    assert.match(snap.meta?.["db.server_version"] ?? "", /MariaDB/);

    await restoreDatabase(repo, {
      type: "mysql",
      snapshot: first?.snapshotId ?? "",
      database: r1,
      connection: {},
      create: true,
    });
    await restoreDatabase(repo, {
      type: "mysql",
      snapshot: "latest",
      from: db,
      database: r2,
      connection: {},
      create: true,
    });
    assert.deepEqual(await myChecksums(r1), sums1);
    assert.deepEqual(await myChecksums(r2), sums2);
    assert.deepEqual(await myAdmin(`SELECT double_it(21)`, r2), [["42"]]);
    assert.deepEqual(
      await myAdmin(
        `SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '${r2}'`,
      ),
      [["nightly"]],
    );
    assert.deepEqual(
      await myAdmin(
        `SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '${r2}'`,
      ),
      [["accounts_bi"]],
    );

    await assert.rejects(
      restoreDatabase(repo, {
        type: "mysql",
        snapshot: "latest",
        from: db,
        database: r2,
        connection: {},
      }),
      (err: unknown) => isCofferError(err, "CONFLICT") && /not empty/.test(err.message),
    );
    await restoreDatabase(repo, {
      type: "mysql",
      snapshot: first?.snapshotId ?? "",
      database: r2,
      connection: {},
      dropExisting: true,
    });
    assert.deepEqual(await myChecksums(r2), sums1);
  });
});
