import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { testRepository } from "../engine/testing/fixtures.ts";
import { backupDatabases } from "./backup-db.ts";
import { mysqlDriver } from "./mysql.ts";
import { postgresDriver } from "./postgres.ts";
import { checkToolVersion, parseVersion, series } from "./version.ts";

test("parseVersion() reads pg_dump, mariadb-dump, mysqldump and server version texts", () => {
  assert.deepEqual(
    parseVersion("postgres", "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)")?.parts,
    [15, 20],
  );
  assert.deepEqual(parseVersion("postgres", "9.6.24")?.parts, [9, 6, 24]);
  const md = parseVersion(
    "mysql",
    "mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)",
  );
  assert.equal(md?.text, "10.11.19");
  assert.equal(md.flavor, "MariaDB");
  assert.equal(
    parseVersion(
      "mysql",
      "mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)",
    )?.flavor,
    "MySQL",
  );
  assert.deepEqual(series("postgres", parseVersion("postgres", "9.6.24")!), [9, 6]);
  assert.deepEqual(series("mysql", parseVersion("mysql", "10.11.19-MariaDB-0+deb12u1")!), [10, 11]);
});

test("checkToolVersion() refuses a dump tool older than the server, before dumping", async () => {
  const probe = (client: string, server: string) => ({
    client: () => Promise.resolve(client),
    server: () => Promise.resolve(server),
  });
  await assert.rejects(
    checkToolVersion(
      "postgres",
      "pg_dump",
      probe("pg_dump (PostgreSQL) 14.11", "16.2 (Debian 16.2-1)"),
    ),
    (err: unknown) =>
      isCofferError(err, "DB_VERSION") &&
      /pg_dump 14\.11 is older than the PostgreSQL 16\.2 server/.test(err.message),
  );
  await assert.rejects(
    checkToolVersion(
      "mysql",
      "mariadb-dump",
      probe("mariadb-dump Ver 10.19 Distrib 10.6.1-MariaDB", "11.4.2-MariaDB"),
    ),
    (err: unknown) =>
      isCofferError(err, "DB_VERSION") &&
      /older than the MariaDB 11\.4\.2 server/.test(err.message),
  );
  const ok = await checkToolVersion(
    "postgres",
    "pg_dump",
    probe("pg_dump (PostgreSQL) 16.1", "15.20"),
  );
  assert.equal(ok.server, "15.20");
});

test("an old tool (faked probe) stops the backup with DB_VERSION and commits nothing", async () => {
  const repo = await testRepository();
  await assert.rejects(
    backupDatabases(repo, {
      type: "postgres",
      connection: {},
      databases: ["postgres"],
      probe: {
        client: () => Promise.resolve("pg_dump (PostgreSQL) 9.6.24"),
        server: () => Promise.resolve("15.20"),
      },
    }),
    (err: unknown) => isCofferError(err, "DB_VERSION"),
  );
  assert.deepEqual(await repo.listSnapshotIds(), []);
});

test("the real probes read the installed tools and running servers (real PostgreSQL and MariaDB)", async () => {
  const pg = await checkToolVersion(
    "postgres",
    "pg_dump",
    postgresDriver.probe({}, postgresDriver.env({}, process.env), undefined),
  );
  assert.match(pg.client, /^pg_dump \(PostgreSQL\) \d+/);
  assert.match(pg.server, /^\d+\.\d+/);
  const my = await checkToolVersion(
    "mysql",
    mysqlDriver.dumpTool,
    mysqlDriver.probe({}, process.env, undefined),
  );
  assert.match(my.client, /Ver /);
  assert.match(my.server, /^\d+\.\d+\.\d+/);
});
