// End to end: the real client engine backs up daily through the gateway under a retention
// policy; destroyed snapshots free packs, and the index objects describing only those packs
// are collected after the delay. Simulated days via the gateway's clock offset (a few seconds).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runServerCli } from "../../cli/server/run.ts";
import { backup } from "../../engine/backup/index.ts";
import { check } from "../../engine/check/index.ts";
import { Repository } from "../../engine/repository/index.ts";
import { restore } from "../../engine/restore/index.ts";
import { TEST_KDF } from "../../engine/testing/fixtures.ts";
import { S3Storage } from "../../storage/s3.ts";
import type { DbInt } from "../db/dialect.ts";
import { startTestGateway } from "../testing/harness.ts";
import { DAY, filedIndexes, maintainAt } from "./testing.ts";

const DAYS = Number(process.env.DAYS ?? 6);
const START = Date.UTC(2025, 0, 1, 2, 0, 0);
const sink = { out: (): void => undefined, err: (): void => undefined };

function dayContent(d: number): Buffer {
  const out = Buffer.alloc(40_000);
  for (let i = 0; i < out.length; i += 32)
    createHash("sha256").update(`day ${d} block ${i}`).digest().copy(out, i);
  return out;
}

test("index GC end to end: daily backups under keep-last 2, useless indexes collected, all restores and check clean", async (t) => {
  const gw = await startTestGateway({ minDeletionDelay: "14d" });
  const work = mkdtempSync(join(tmpdir(), "coffer-idx-e2e-"));
  try {
    const creds = await gw.addSource("web-01");
    const md = gw.running.metadata;
    const cli = (...a: string[]): Promise<number> =>
      runServerCli([...a, "--data-dir", gw.dataDir], sink);
    assert.equal(await cli("policy", "set", "web-01", "--keep-last", "2"), 0);
    const storage = new S3Storage({
      endpoint: gw.endpoint,
      bucket: creds.bucket,
      credentials: creds,
      forcePathStyle: true,
      region: "us-east-1",
      retry: { maxAttempts: 1 },
    });
    const at = (time: number): void => {
      gw.clockOffset = time - Date.now();
      (storage.client.config as { systemClockOffset: number }).systemClockOffset = gw.clockOffset;
    };
    const indexStats = async (): Promise<{ count: number; bytes: number }> => {
      const r = await md.db.get<{ n: DbInt; b: DbInt | null }>(
        "SELECT COUNT(*) AS n, SUM(size) AS b FROM objects WHERE bucket = ? AND substr(key, 1, 6) = 'index/'",
        [creds.bucket],
      );
      return { count: Number(r?.n ?? 0), bytes: Number(r?.b ?? 0) };
    };
    at(START);
    await Repository.init(storage, "pw", { hostname: "web-01", username: "root", kdf: TEST_KDF });
    const src = join(work, "src");
    mkdirSync(src);
    writeFileSync(join(src, "stable.bin"), Buffer.alloc(60_000, 7));
    const dayOf = new Map<string, number>();
    const written = new Map<string, number>();
    const filed: string[] = [];
    const remember = async (): Promise<void> => {
      for (const r of await md.db.all<{ key: string; size: DbInt }>(
        "SELECT key, size FROM objects WHERE bucket = ? AND substr(key, 1, 6) = 'index/'",
        [creds.bucket],
      ))
        written.set(r.key, Number(r.size));
    };
    for (let d = 0; d < DAYS; d++) {
      at(START + d * DAY);
      writeFileSync(join(src, "day.bin"), dayContent(d));
      const repo = await Repository.open(storage, "pw");
      const r = await backup(repo, { paths: [src], host: "web-01", workers: 1 });
      dayOf.set(r.snapshotId, d);
      await remember();
      filed.push(...filedIndexes(await maintainAt(gw, START + d * DAY + 3_600_000)));
    }
    const last = START + (DAYS - 1) * DAY;
    for (let time = last + DAY; time <= last + 50 * DAY; time += DAY)
      filed.push(...filedIndexes(await maintainAt(gw, time)));
    at(last + 50 * DAY);

    // Retention kept the last 2 snapshots; the packs of the others are gone, and with them
    // every index object that described only those packs.
    const snaps = (
      await md.db.all<{ key: string }>(
        "SELECT key FROM objects WHERE bucket = ? AND substr(key, 1, 10) = 'snapshots/'",
        [creds.bucket],
      )
    ).map((x) => x.key.slice(10));
    assert.deepEqual(snaps.map((s) => dayOf.get(s)).sort(), [DAYS - 2, DAYS - 1]);
    const after = await indexStats();
    const before = { count: written.size, bytes: [...written.values()].reduce((a, b) => a + b, 0) };
    assert.ok(filed.length > 0 && after.count === before.count - filed.length);
    const remaining = new Set(
      (
        await md.db.all<{ key: string }>(
          "SELECT key FROM objects WHERE bucket = ? AND substr(key, 1, 6) = 'index/'",
          [creds.bucket],
        )
      ).map((x) => x.key),
    );
    for (const k of filed) assert.ok(!remaining.has(k), k);
    // No remaining index names only destroyed packs (all of them would have been filed).
    const useless = await md.db.all(
      `SELECT io.key FROM index_objects io JOIN objects o ON o.bucket = io.bucket AND o.key = io.key
       WHERE io.bucket = ? AND NOT EXISTS (SELECT 1 FROM index_packs ip WHERE ip.bucket = io.bucket
       AND ip.index_key = io.key AND EXISTS (SELECT 1 FROM objects p WHERE p.bucket = ip.bucket
       AND p.key = 'data/' || substr(ip.pack_id, 1, 2) || '/' || ip.pack_id))`,
      [creds.bucket],
    );
    assert.deepEqual(useless, []);
    t.diagnostic(
      `${DAYS} daily backups, keep-last 2: index objects ${before.count} (${before.bytes} B) without index GC, ${after.count} (${after.bytes} B) with it`,
    );

    // Every remaining snapshot restores, and check --read-data is clean.
    const repo = await Repository.open(storage, "pw");
    for (const id of snaps) {
      const out = join(work, `restore-${id.slice(0, 8)}`);
      const rr = await restore(repo, id, { target: out });
      assert.deepEqual(rr.errors, []);
      const day = readFileSync(join(out, src.slice(1), "day.bin"));
      assert.ok(day.equals(dayContent(dayOf.get(id) ?? -1)));
    }
    const report = await check(repo, { readData: true });
    // Only information: packs destroyed on purpose that a kept index still describes (the
    // day-0 index names the pack holding stable.bin, still live, and day 0's tree pack, gone).
    assert.deepEqual(
      report.problems.filter((p) => p.severity !== "info"),
      [],
    );
    assert.ok(report.problems.every((p) => /destroyed by the gateway's garbage/.test(p.message)));
    assert.equal(report.ok, true);
  } finally {
    await gw.close();
    rmSync(work, { recursive: true, force: true });
  }
});
