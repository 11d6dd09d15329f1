#!/usr/bin/env node
// Database dump benchmark (docs/benchmarks.md, "Database dumps"). Needs the local PostgreSQL.
//   node --import tsx scripts/bench-db.mjs [--days 30] [--rows 200000] [--pattern scattered|clustered]
// 1. Repository growth over N daily dumps with 1% of rows changed per day, against N x the
//    size of `pg_dump | zstd -3` (what a dump-and-compress job stores).
// 2. Dump throughput: `coffer db backup` time vs `pg_dump > /dev/null` time on the same DB.
import { execFileSync, execSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { days: { type: "string" }, rows: { type: "string" }, pattern: { type: "string" } },
});
const days = Number(values.days ?? 30);
const rows = Number(values.rows ?? 200000);
const pattern = values.pattern ?? "scattered";
const { Repository } = await import("../src/engine/repository/repository.ts");
const { LocalStorage } = await import("../src/storage/local.ts");
const { backupDatabases } = await import("../src/dumps/backup-db.ts");

const db = `coffer_bench_${process.pid}`;
const psql = (sql, d = "postgres") =>
  execFileSync("psql", ["-XAtq", "-v", "ON_ERROR_STOP=1", "-d", d, "-c", sql]).toString();
const dirSize = (p) => Number(execSync(`du -sb ${p}`).toString().split("\t")[0]);
const dir = mkdtempSync(join(tmpdir(), "coffer-bench-db-"));
psql(`create database ${db}`);
try {
  psql(
    `create table accounts (aid int primary key, bid int not null, abalance int not null, email text not null, note text not null);
     insert into accounts select g, g % 50, (g::bigint * 7919) % 100000, 'user' || g || '@exemple.fr', md5(g::text) || ' ' || md5((g * 31)::text)
       from generate_series(1, ${rows}) g;
     create table events (id bigserial primary key, aid int not null, kind text not null, at timestamptz not null default '2026-01-01');
     insert into events (aid, kind) select g % ${rows} + 1, 'login ' || md5(g::text) from generate_series(1, ${rows}) g;`,
    db,
  );
  psql("vacuum analyze", db);
  const storage = new LocalStorage(join(dir, "repo"));
  const repo = await Repository.init(storage, "bench", {
    hostname: "bench",
    username: "bench",
    kdf: { N: 1024, r: 8, p: 1 },
  });
  const repoDir = join(dir, "repo");
  const base = dirSize(repoDir);
  let zstdTotal = 0;
  let dumpBytes = 0;
  const changed = Math.max(1, Math.round(rows / 100));
  const t0 = Date.UTC(2026, 0, 1);
  for (let day = 0; day < days; day++) {
    if (day > 0) {
      const where =
        pattern === "clustered"
          ? `aid between ${((day * 7919) % (rows - changed)) + 1} and ${((day * 7919) % (rows - changed)) + changed}`
          : `aid % 100 = ${day % 100}`;
      psql(
        `update accounts set abalance = abalance + 1 where ${where}; insert into events (aid, kind) select g % ${rows} + 1, 'day ${day}' from generate_series(1, ${Math.round(changed / 2)}) g;`,
        db,
      );
    }
    zstdTotal += Number(
      execSync(`pg_dump -Fp ${db} | zstd -3 -q -c | wc -c`, {
        env: { ...process.env, PGOPTIONS: "-c synchronize_seqscans=off" },
      }).toString(),
    );
    const [r] = await backupDatabases(repo, {
      type: "postgres",
      connection: {},
      databases: [db],
      time: new Date(t0 + day * 86400000),
    });
    if (r?.error) throw r.error;
    dumpBytes = r.bytes;
  }
  const growth = dirSize(repoDir) - base;
  // Throughput: best of 3 each.
  const time = (f) => {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const s = process.hrtime.bigint();
      f();
      best = Math.min(best, Number(process.hrtime.bigint() - s) / 1e9);
    }
    return best;
  };
  const plain = time(() => execSync(`pg_dump -Fp ${db} > /dev/null`));
  let coffer = Infinity;
  for (let i = 0; i < 3; i++) {
    const s = process.hrtime.bigint();
    const [r] = await backupDatabases(repo, {
      type: "postgres",
      connection: {},
      databases: [db],
      time: new Date(t0 + (days + i) * 86400000),
    });
    if (r?.error) throw r.error;
    coffer = Math.min(coffer, Number(process.hrtime.bigint() - s) / 1e9);
  }
  const mib = (n) => (n / 1048576).toFixed(1);
  console.log(
    `pattern ${pattern}, ${days} days, ${rows} accounts rows, dump ${mib(dumpBytes)} MiB`,
  );
  console.log(
    `repository growth: ${mib(growth)} MiB; ${days} x pg_dump|zstd -3: ${mib(zstdTotal)} MiB; ratio ${(growth / zstdTotal).toFixed(3)}`,
  );
  console.log(
    `pg_dump > /dev/null: ${plain.toFixed(2)} s; coffer db backup: ${coffer.toFixed(2)} s; throughput ratio ${(plain / coffer).toFixed(2)}x`,
  );
} finally {
  psql(`drop database if exists ${db} with (force)`);
  rmSync(dir, { recursive: true, force: true });
}
