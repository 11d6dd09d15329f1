// Slow integration test (a few minutes): 400 simulated days through the gateway, each a real
// backup() of a directory on disk through S3Storage. Env: DAYS=n (a shorter run; the tier
// assertions need 400), PROF=1 (per-day timings and the gateway's request log), NO_CACHE=1
// (no local index cache: every backup fetches every index object, the cost before ADR 0012).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { backup } from "../../engine/backup/index.ts";
import { RepoCache } from "../../engine/cache/index.ts";
import { forgetSnapshots, pendingDeletions } from "../../engine/prune/index.ts";
import { Repository } from "../../engine/repository/index.ts";
import { restore } from "../../engine/restore/index.ts";
import { TEST_KDF } from "../../engine/testing/fixtures.ts";
import { applyPolicy, parsePolicy } from "../../retention/index.ts";
import { S3Storage } from "../../storage/s3.ts";
import { runServerCli } from "../../cli/server/run.ts";
import { cancelDeletion, listDeletions } from "../deletions/workflow.ts";
import { startTestGateway } from "../testing/harness.ts";
import { runMaintenance } from "./maintenance.ts";

const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 1, 2, 0, 0); // Wed 2025-01-01 02:00 UTC
const DAYS = Number(process.env.DAYS ?? 400);

function dayContent(d: number): Buffer {
  const out = Buffer.alloc(3000);
  for (let i = 0; i < out.length; i += 32)
    createHash("sha256").update(`day ${d} block ${i}`).digest().copy(out, i);
  return out;
}
const STABLE = Buffer.alloc(50_000, 7);
/** Small files: `notes/n<i>.txt` changes every `i + 2` days. */
const SMALL = 4;
const smallContent = (i: number, d: number): string =>
  `note ${i}, version ${Math.floor(d / (i + 2))}\n`;

/** Lays out day `d`'s tree under `src` (only what changed since day `d − 1` is rewritten). */
function writeDay(src: string, d: number): void {
  if (d === 0) {
    mkdirSync(join(src, "notes"), { recursive: true });
    writeFileSync(join(src, "stable.bin"), STABLE);
  }
  writeFileSync(join(src, "day.bin"), dayContent(d));
  for (let i = 0; i < SMALL; i++)
    if (d === 0 || smallContent(i, d) !== smallContent(i, d - 1))
      writeFileSync(join(src, "notes", `n${i}.txt`), smallContent(i, d));
}

function findFile(dir: string, name: string): string | undefined {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (e === name) return p;
    if (statSync(p).isDirectory()) {
      const f = findFile(p, name);
      if (f !== undefined) return f;
    }
  }
  return undefined;
}

const sink = {
  out: (): void => undefined,
  err: (l: string): void => void process.stderr.write(l + "\n"),
};

test("400 days of daily backups under degressive through the gateway (slow)", async () => {
  const gw = await startTestGateway({ minDeletionDelay: "14d" });
  const work = mkdtempSync(join(tmpdir(), "coffer-400d-"));
  try {
    const simNow = (): number => Date.now() + gw.clockOffset;
    const setSim = (t: number): void => {
      gw.clockOffset = t - Date.now();
    };
    setSim(START);
    const creds = await gw.addSource("web-01");
    const cli = (...args: string[]): Promise<number> =>
      runServerCli([...args, "--data-dir", gw.dataDir], sink);
    assert.equal(await cli("policy", "set", "web-01", "--preset", "degressive"), 0);
    const storage = new S3Storage({
      endpoint: gw.endpoint,
      bucket: creds.bucket,
      credentials: creds,
      forcePathStyle: true,
      region: "us-east-1",
    });
    const syncClock = (): void => {
      (storage.client.config as { systemClockOffset: number }).systemClockOffset = gw.clockOffset;
    };
    syncClock();
    const md = gw.running.metadata;
    if (process.env.PROF)
      gw.running.gateway.onRequest = (l) => {
        process.stderr.write(
          `${l.method} ${l.key ?? ""} ${l.status} ${l.errorCode ?? ""} ${Date.now() - l.time - gw.clockOffset}\n`,
        );
      };
    const objStorage = gw.running.gateway.deps.objects.storage;
    const maintain = (): Promise<unknown> =>
      runMaintenance(md, objStorage, simNow(), { minDelayMs: 14 * DAY, gcMarginMs: DAY });
    await Repository.init(storage, "pw", { hostname: "web-01", username: "root", kdf: TEST_KDF });
    const repo = await Repository.open(storage, "pw");
    const src = join(work, "srv");
    const cacheDir = join(work, "cache");
    const backupMs: number[] = [];
    const maintenanceMs: number[] = [];
    const dayOf = new Map<string, number>();
    const commitTime = new Map<string, number>();
    let userForgotten = "";
    let retentionCancelled = "";
    for (let d = 0; d < DAYS; d++) {
      setSim(START + d * DAY);
      syncClock();
      // A real backup of the directory as it is today, by a fresh `coffer backup`-like
      // process: open the repository, load the index (minus the packs the gateway lists as
      // unavailable), find the parent, read what changed, commit packs → index → snapshot →
      // manifest. The snapshot's own time is the simulated day; the gateway uses its clock.
      writeDay(src, d);
      const t = Date.now();
      const today = await Repository.open(storage, "pw");
      if (process.env.NO_CACHE === undefined) today.cache = new RepoCache(cacheDir, today.id);
      const r = await backup(today, { paths: [src], host: "web-01", time: simNow() });
      const ms = Date.now() - t;
      backupMs.push(ms);
      if (process.env.PROF) process.stderr.write(`day ${d}: backup ${ms}ms\n`);
      dayOf.set(r.snapshotId, d);
      commitTime.set(r.snapshotId, simNow());
      setSim(START + d * DAY + 3_600_000);
      syncClock();
      const tm = Date.now();
      await maintain();
      maintenanceMs.push(Date.now() - tm);
      if (process.env.PROF) process.stderr.write(`day ${d}: maintenance ${Date.now() - tm}ms\n`);
      if (d === 380) {
        // A retention deletion cancelled by the operator: restorable right away.
        const p = (await listDeletions(md.db, { state: "PENDING" })).find(
          (x) => x.reason === "retention" && x.key.startsWith("snapshots/"),
        );
        assert.ok(p !== undefined);
        retentionCancelled = p.key.slice(10);
        await cancelDeletion(md, p.id, "admin:test", simNow());
        const out = join(work, "cancelled");
        const repo2 = await Repository.open(storage, "pw");
        await restore(repo2, retentionCancelled, { target: out });
        assert.deepEqual(
          readFileSync(findFile(out, "day.bin") ?? ""),
          dayContent(dayOf.get(retentionCancelled) ?? -1),
        );
        rmSync(out, { recursive: true });
      }
      if (d === 390) {
        // The client forgets a snapshot retention keeps: pending, with its date; the operator cancels.
        const repo2 = await Repository.open(storage, "pw");
        const target = [...dayOf].find(([, x]) => x === 306)?.[0] ?? ""; // Mon 2025-11-03: a monthly pick
        const [o] = await forgetSnapshots(repo2, [target]);
        assert.equal(o?.state, "pending");
        assert.ok(
          Math.abs(Date.parse(o.executeAfter ?? "") - (simNow() + 14 * DAY)) < 5_000,
          o.executeAfter,
        );
        assert.equal((await pendingDeletions(storage))?.get(`snapshots/${target}`)?.reason, "user");
        userForgotten = target;
        const id = (await listDeletions(md.db, { state: "PENDING" })).find(
          (x) => x.key === `snapshots/${target}`,
        )?.id;
        assert.equal(await cli("deletions", "cancel", String(id)), 0);
      }
    }
    // Mean of days d-4..d (one backup is noisy on a shared machine).
    const at = (xs: number[], d: number): string => {
      const w = xs.slice(Math.max(0, Math.min(d, xs.length) - 5), Math.min(d, xs.length));
      return w.length === 0 ? "-" : (w.reduce((a, b) => a + b, 0) / w.length).toFixed(0);
    };
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    const blocks: string[] = [];
    for (let b = 0; b < backupMs.length; b += 100)
      blocks.push((sum(backupMs.slice(b, b + 100)) / backupMs.slice(b, b + 100).length).toFixed(0));
    process.stderr.write(
      `backup() ms around day 10/100/400: ${at(backupMs, 10)}/${at(backupMs, 100)}/${at(backupMs, 400)} (total ${sum(backupMs)} ms; mean per 100 days ${blocks.join("/")}); ` +
        `maintenance ms: ${at(maintenanceMs, 10)}/${at(maintenanceMs, 100)}/${at(maintenanceMs, 400)} (total ${sum(maintenanceMs)} ms)\n`,
    );
    const lastBackup = START + (DAYS - 1) * DAY;
    // Backups stop; the queue drains (retention anchored to the last backup expires nothing more).
    for (let t = lastBackup + DAY; t <= lastBackup + 40 * DAY; t += DAY) {
      setSim(t);
      await maintain();
    }
    syncClock();

    // 1. Which snapshots remain: exactly the engine's keep set over the full history.
    const remaining = (
      await md.db.all<{ key: string }>(
        "SELECT key FROM objects WHERE bucket = ? AND substr(key, 1, 10) = 'snapshots/'",
        [creds.bucket],
      )
    )
      .map((r) => r.key.slice(10))
      .sort();
    const history = [...commitTime].map(([id, t]) => ({
      id,
      time: t,
      host: "web-01",
      tags: [],
      paths: [],
    }));
    const decision = applyPolicy(history, parsePolicy({ preset: "degressive" }), {
      now: simNow(),
      anchor: "latest",
    });
    const keep = decision.groups.flatMap((g) => g.keep.map((k) => k.id));
    const byTier = (n: number): number =>
      decision.groups[0]?.keep.filter((k) => k.reasons.some((r) => r.startsWith(`tier ${n}`)))
        .length ?? 0;
    // Last backup Wed 2026-02-04: tier 1 = 7 days, tier 2 = 21 days x 3/7, tier 3 = 8 Mondays,
    // tier 4 = the oldest weekly pick (first Monday) of each month Feb 2025 - Nov 2025.
    // Tier 1 keeps every commit in (anchor − 7d, anchor]: 7 daily commits, or 8 when the
    // commit 7 days before the last one landed a few ms later in its day (real time runs).
    const anchor = Math.max(...history.map((h) => h.time));
    const tier1 = history.filter((h) => h.time > anchor - 7 * DAY).length;
    assert.ok(tier1 === 7 || tier1 === 8);
    assert.deepEqual([byTier(1), byTier(2), byTier(3)], [tier1, 9, 8]);
    const tier4Days = decision.groups[0]?.keep
      .filter((k) => k.reasons.some((r) => r.startsWith("tier 4")))
      .map((k) => new Date(START + (dayOf.get(k.id) ?? 0) * DAY).toISOString().slice(0, 10))
      .sort();
    // The 12-month tier reaches back past 2025-01-01, whose oldest weekly pick is Wed Jan 1.
    assert.deepEqual(tier4Days, [
      "2025-01-01",
      "2025-02-03",
      "2025-03-03",
      "2025-04-07",
      "2025-05-05",
      "2025-06-02",
      "2025-07-07",
      "2025-08-04",
      "2025-09-01",
      "2025-10-06",
      "2025-11-03",
    ]);
    const expected = [...new Set([...keep, retentionCancelled])].sort();
    assert.deepEqual(
      remaining,
      expected,
      `remaining ${remaining.length} vs expected ${expected.length}`,
    );
    assert.ok(remaining.includes(userForgotten));
    process.stderr.write(
      `400 days: ${remaining.length} snapshots remain (tier1 ${tier1}, tier2 9, tier3 8, tier4 ${tier4Days.length}, + the cancelled one)\n`,
    );

    // 2. No deletion executed earlier than 14 days after its request.
    const executed = await listDeletions(md.db, { state: "EXECUTED" });
    assert.ok(executed.length > 300, `executed ${executed.length}`);
    for (const x of executed)
      assert.ok(
        (x.stateChangedAt ?? 0) - x.requestedAt >= 14 * DAY,
        `deletion ${x.id} executed early`,
      );
    const minGap = Math.min(...executed.map((x) => (x.stateChangedAt ?? 0) - x.requestedAt)) / DAY;
    process.stderr.write(
      `executed ${executed.length} deletions; shortest request→execution ${minGap.toFixed(2)} days\n`,
    );

    // 3. Storage used ≈ the live snapshots' packs.
    const packRows = await md.db.all<{ key: string; size: number }>(
      "SELECT key, size FROM objects WHERE bucket = ? AND substr(key, 1, 5) = 'data/'",
      [creds.bucket],
    );
    const live = new Set<string>();
    for (const m of await md.manifests.list(creds.bucket))
      if (remaining.includes(m.snapshot)) for (const p of m.packs) live.add(p);
    const stored = packRows.reduce((n, r) => n + r.size, 0);
    const liveBytes = packRows
      .filter((r) => live.has(r.key.slice(r.key.lastIndexOf("/") + 1)))
      .reduce((n, r) => n + r.size, 0);
    const indexObjects = await md.db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM objects WHERE bucket = ? AND substr(key, 1, 6) = 'index/'",
      [creds.bucket],
    );
    process.stderr.write(
      `packs stored ${stored} bytes, live ${liveBytes} bytes (${packRows.length} packs, ${indexObjects?.n ?? 0} index objects)\n`,
    );
    assert.ok(stored <= liveBytes * 1.03, `stored ${stored} vs live ${liveBytes}`);

    // 4. Every remaining snapshot restores bit-exactly.
    await repo.loadIndex();
    for (const id of remaining) {
      const out = join(work, `r-${id.slice(0, 8)}`);
      const res = await restore(repo, id, { target: out });
      assert.equal(res.errors.length, 0);
      assert.deepEqual(
        readFileSync(findFile(out, "day.bin") ?? ""),
        dayContent(dayOf.get(id) ?? -1),
      );
      assert.deepEqual(readFileSync(findFile(out, "stable.bin") ?? ""), STABLE);
      for (let i = 0; i < SMALL; i++)
        assert.equal(
          readFileSync(findFile(out, `n${i}.txt`) ?? "", "utf8"),
          smallContent(i, dayOf.get(id) ?? -1),
        );
      rmSync(out, { recursive: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    await gw.close();
  }
});
