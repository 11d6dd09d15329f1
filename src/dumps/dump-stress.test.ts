import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { CofferError } from "../core/errors.ts";
import { testRepository } from "../engine/testing/fixtures.ts";
import {
  type Expect,
  STRESS_RUNS,
  expectOutcome,
  fixtureDir,
  noiseBytes,
  slowIndexLoad,
  storedFile,
} from "../engine/testing/pipe-stress.ts";
import { backupDatabases, serverDriver } from "./backup-db.ts";
import { streamToolIntoRepository } from "./stream-dump.ts";
import { myAdmin, myDrop, pgAdmin, pgDrop, uniqueName } from "./testing/servers.ts";

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const Database = require("better-sqlite3") as typeof import("better-sqlite3");

/** pg_dump ≥ 15.14 brackets each dump with a random `\restrict` key: the rest is stable. */
function stable(dump: Buffer): string {
  return dump.toString("utf8").replace(/^\\(un)?restrict \S+$/gm, "\\$1restrict KEY");
}

/** Rows per size of database: tiny, mid-size (~100 KB dump), large (~2 MB dump). */
const SIZES = { tiny: 1, "mid-size": 1_000, large: 20_000 } as const;

for (const type of ["postgres", "mysql"] as const) {
  describe(`db backup --type ${type} under stress: ${String(STRESS_RUNS)} runs per case`, () => {
    const dbs = Object.fromEntries(
      Object.keys(SIZES).map((s) => [s, uniqueName(`stress_${s.replace("-", "")}`)]),
    ) as Record<keyof typeof SIZES, string>;
    before(async () => {
      for (const [size, rows] of Object.entries(SIZES)) {
        const db = dbs[size as keyof typeof SIZES];
        const fill = `insert into t select g, md5(g::text) || md5((g * 7)::text) from generate_series(1, ${String(rows)}) g`;
        if (type === "postgres") {
          await pgAdmin(`create database "${db}"`);
          await pgAdmin(`create table t (id int primary key, v text); ${fill}`, db);
        } else {
          await myAdmin(`CREATE DATABASE \`${db}\``);
          await myAdmin(
            `CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t SELECT seq, CONCAT(MD5(seq), MD5(seq * 7)) FROM seq_1_to_${String(rows)}`,
            db,
          );
        }
      }
    });
    after(async () => {
      for (const db of Object.values(dbs)) await (type === "postgres" ? pgDrop(db) : myDrop(db));
    });

    const cases = [
      ...Object.keys(SIZES).map((size) => ({ size, slow: false })),
      { size: "tiny", slow: true },
    ] as { size: keyof typeof SIZES; slow: boolean }[];
    for (const c of cases) {
      const what = `a ${c.size} database${c.slow ? " whose dump ends before coffer reads" : ""}`;
      test(`backupDatabases() stores the whole dump of ${what}, every time`, async () => {
        const db = dbs[c.size];
        const driver = serverDriver(type);
        const tool = driver.dumpCommand({}, db);
        const reference = stable(
          Buffer.from((await run(tool.command, tool.args, { maxBuffer: 64 << 20 })).stdout),
        );
        const repo = await testRepository({ seed: `${type}-${what}` });
        if (c.slow) slowIndexLoad(repo, 30);
        for (let i = 0; i < STRESS_RUNS; i++) {
          const [r] = await backupDatabases(repo, { type, connection: {}, databases: [db] });
          if (r?.snapshotId === undefined) throw r?.error ?? new Error("no outcome");
          const snap = await repo.loadSnapshot(r.snapshotId);
          const got = await storedFile(repo, snap.tree);
          if (got.data.length === 0 || stable(got.data) !== reference) {
            throw new Error(
              `run ${String(i + 1)}: stored ${String(got.data.length)} bytes that differ from the dump`,
            );
          }
        }
      });
    }
  });
}

describe(`a dump tool that misbehaves commits nothing: ${String(STRESS_RUNS)} runs per case`, () => {
  const marker = "-- Dump completed";
  const dir = fixtureDir({
    "mid.sql": Buffer.concat([noiseBytes(200_000, 5), Buffer.from(`\n${marker}\n`)]),
  });
  const mid = join(dir, "mid.sql");
  const cases: { name: string; sh: string; want: Expect; slow?: boolean }[] = [
    { name: "writes nothing and exits 0", sh: "true", want: { refused: /wrote nothing/ } },
    {
      name: "writes nothing and exits 0 before coffer reads",
      sh: "true",
      want: { refused: /wrote nothing/ },
      slow: true,
    },
    {
      name: "stops short of its completion marker and exits 0",
      sh: `head -c 150000 ${mid}`,
      want: { refused: /does not end with "-- Dump completed"/ },
    },
    {
      name: "is killed mid-way",
      sh: `head -c 150000 ${mid}; kill -9 $$`,
      want: { refused: /killed by SIGKILL/ },
    },
    {
      name: "is killed mid-way before coffer reads",
      sh: `printf 'CREATE TABLE t'; kill -9 $$`,
      want: { refused: /killed by SIGKILL/ },
      slow: true,
    },
    { name: "exits 2 after a whole dump", sh: `cat ${mid}; exit 2`, want: { refused: /code 2/ } },
  ];
  for (const c of cases) {
    test(`streamToolIntoRepository() commits nothing when the tool ${c.name}`, async () => {
      const repo = await testRepository({ seed: c.name });
      if (c.slow === true) slowIndexLoad(repo, 30);
      for (let i = 0; i < STRESS_RUNS; i++) {
        await expectOutcome(repo, `${c.name}, run ${String(i + 1)}`, c.want, () =>
          streamToolIntoRepository(repo, {
            tool: { command: "sh", args: ["-c", c.sh] },
            env: process.env,
            what: 'Cannot dump MySQL database "x"',
            completionMarker: marker,
            filename: "x.sql",
            tags: [],
            meta: {},
          }),
        );
      }
    });
  }
});

describe(`db backup --type sqlite under stress: ${String(STRESS_RUNS)} runs per size`, () => {
  for (const [size, rows] of Object.entries(SIZES)) {
    test(`backupDatabases() stores the whole copy of a ${size} SQLite database, every time`, async () => {
      const dir = fixtureDir({});
      const file = join(dir, "app.db");
      const db = new Database(file);
      db.exec("create table t (id integer primary key, v text)");
      const ins = db.prepare("insert into t values (?, ?)");
      db.transaction(() => {
        for (let i = 1; i <= rows; i++) ins.run(i, `${String(i)}-${"x".repeat(64)}`);
      })();
      db.close();
      const repo = await testRepository({ seed: `sqlite-${size}` });
      for (let i = 0; i < STRESS_RUNS; i++) {
        const [r] = await backupDatabases(repo, {
          type: "sqlite",
          connection: {},
          databases: [file],
        });
        if (r?.snapshotId === undefined) throw r?.error ?? new Error("no outcome");
        const got = await storedFile(repo, (await repo.loadSnapshot(r.snapshotId)).tree);
        if (got.size === 0 || got.data.length !== got.size)
          throw new CofferError(
            "CORRUPT",
            `run ${String(i + 1)}: stored ${String(got.size)} bytes`,
          );
        if (!got.data.subarray(0, 16).equals(Buffer.from("SQLite format 3\0")))
          throw new CofferError("CORRUPT", `run ${String(i + 1)}: not a SQLite file`);
      }
    });
  }
});
