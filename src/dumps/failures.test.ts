import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { testRepository } from "../engine/testing/fixtures.ts";
import { backupDatabases } from "./backup-db.ts";
import { ToolError } from "./run-tool.ts";
import { myAdmin, myDrop, pgAdmin, pgDrop, uniqueName } from "./testing/servers.ts";

describe("failed dumps commit nothing (slow: real PostgreSQL and MariaDB)", () => {
  const pg = uniqueName("pgfail");
  const my = uniqueName("myfail");
  const user = uniqueName("u");
  before(async () => {
    await pgAdmin(`create database "${pg}"`);
    await pgAdmin(
      `create table big as select g as id, md5(g::text) || md5((g + 1)::text) as s from generate_series(1, 300000) g`,
      pg,
    );
    await myAdmin(
      `CREATE DATABASE \`${my}\`; CREATE TABLE \`${my}\`.t (id INT PRIMARY KEY); INSERT INTO \`${my}\`.t VALUES (1), (2)`,
    );
    await myAdmin(
      `CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY 'right-password'; GRANT ALL ON \`${my}\`.* TO '${user}'@'127.0.0.1'`,
    );
  });
  after(async () => {
    await pgDrop(pg);
    await myDrop(my);
    await myAdmin(`DROP USER IF EXISTS '${user}'@'127.0.0.1'`);
  });

  const noSnapshots = async (repo: Awaited<ReturnType<typeof testRepository>>): Promise<void> => {
    assert.deepEqual(await repo.listSnapshotIds(), []);
  };

  test("a missing PostgreSQL database fails on one line naming it", async () => {
    const repo = await testRepository();
    await assert.rejects(
      backupDatabases(repo, { type: "postgres", connection: {}, databases: [`${pg}_missing`] }),
      (err: unknown) =>
        isCofferError(err, "COMMAND_FAILED") &&
        /does not exist/.test(err.message) &&
        !err.message.includes("\n"),
    );
    await noSnapshots(repo);
  });

  test("an unreachable server (wrong port) fails with connection refused", async () => {
    const repo = await testRepository();
    await assert.rejects(
      backupDatabases(repo, {
        type: "postgres",
        connection: { host: "127.0.0.1", port: 1 },
        databases: [pg],
      }),
      (err: unknown) => isCofferError(err) && /refused/i.test(err.message),
    );
    await assert.rejects(
      backupDatabases(repo, {
        type: "mysql",
        connection: { host: "127.0.0.1", port: 1 },
        databases: [my],
      }),
      (err: unknown) => isCofferError(err) && /Can't connect/i.test(err.message),
    );
    await noSnapshots(repo);
  });

  test("a wrong MariaDB password over TCP fails with access denied", async () => {
    const repo = await testRepository();
    const conn = { host: "127.0.0.1", port: 3306, user };
    await assert.rejects(
      backupDatabases(repo, {
        type: "mysql",
        connection: { ...conn, password: "wrong" },
        databases: [my],
      }),
      (err: unknown) =>
        isCofferError(err) && /Access denied/.test(err.message) && !err.message.includes("wrong"),
    );
    await noSnapshots(repo);
    const [ok] = await backupDatabases(repo, {
      type: "mysql",
      connection: { ...conn, password: "right-password" },
      databases: [my],
    });
    assert.equal(ok?.error, undefined, ok?.error?.message);
    assert.equal((await repo.listSnapshotIds()).length, 1);
  });

  test("a dump killed mid-way commits no snapshot and says it was killed", async () => {
    const repo = await testRepository();
    const [r] = await backupDatabases(repo, {
      type: "postgres",
      connection: {},
      databases: [pg],
      onSpawn: (child) => {
        child.stdout?.once("data", () => {
          child.kill("SIGKILL");
        });
      },
    });
    assert.ok(r?.error instanceof ToolError, String(r?.error));
    assert.match(r.error.message, /killed by SIGKILL/);
    await noSnapshots(repo);
  });

  test("a failure of one database in a multi-database run keeps the others", async () => {
    const repo = await testRepository();
    const out = await backupDatabases(repo, {
      type: "postgres",
      connection: {},
      databases: [pg, `${pg}_missing`],
    });
    assert.equal(out[0]?.error, undefined);
    assert.match(out[1]?.error?.message ?? "", /does not exist/);
    assert.equal((await repo.listSnapshotIds()).length, 1);
  });
});
