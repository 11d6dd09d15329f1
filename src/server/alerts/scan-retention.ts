import type { DbInt } from "../db/dialect.ts";
import type { ScanContext } from "./scan-context.ts";
import { slotAfter, type Expectation } from "./expectations.ts";
import * as msg from "./messages.ts";

const DAY = 86_400_000;

/** Expected backups in 24 hours from a source's expectations (undefined: none set). */
function expectedPerDay(exps: readonly Expectation[], at: number): number | undefined {
  if (exps.length === 0) return undefined;
  let n = 0;
  for (const e of exps) {
    let t = at - DAY;
    for (let i = 0; i < 10_000; i++) {
      t = slotAfter(e, t);
      if (t > at) break;
      n++;
    }
  }
  return Math.max(1, n);
}

/**
 * Burst and mass-retention scans (a compromised source gaming a count-based policy, issue 11):
 * - **burst**: a source commits far more snapshots in 24 hours than it is expected to
 *   (`alerts.burst` × its expectations' slots, or × its own daily average of the week before
 *   when it has none; never fewer than expected + 2);
 * - **retention-share**: one retention pass filed more than `alerts.retentionShare` of the
 *   source's snapshots.
 */
export async function scanRetentionRisks(a: ScanContext, now: number): Promise<void> {
  await scanBursts(a, now);
  await scanRetentionShare(a, now);
}

async function scanBursts(a: ScanContext, now: number): Promise<void> {
  const since = Number((await a.alerts.cursor("bursts")) ?? "0");
  const rows = await a.deps.db.all<{ bucket: string; committed_at: DbInt }>(
    "SELECT bucket, committed_at FROM manifests WHERE committed_at > ? AND committed_at <= ? ORDER BY committed_at, bucket, key",
    [since, now],
  );
  for (const m of rows) {
    const at = Number(m.committed_at);
    const count = async (from: number, to: number): Promise<number> =>
      Number(
        (
          await a.deps.db.get<{ n: DbInt }>(
            "SELECT COUNT(*) AS n FROM manifests WHERE bucket = ? AND committed_at > ? AND committed_at <= ?",
            [m.bucket, from, to],
          )
        )?.n ?? 0,
      );
    const recent = await count(at - DAY, at);
    let expected = expectedPerDay(await a.expectations.list(m.bucket), at);
    let basis = "its expectations";
    if (expected === undefined) {
      expected = Math.max(1, Math.ceil((await count(at - 8 * DAY, at - DAY)) / 7));
      basis = "its average of the week before";
    }
    const limit = Math.max(Math.ceil(a.deps.cfg.burstFactor * expected), expected + 2);
    if (recent > limit) {
      await a.notify(
        {
          dedup: `burst:${m.bucket}:${String(Math.floor(at / DAY))}`,
          source: m.bucket,
          group: null,
          kind: "burst",
          state: "event",
          detail: { snapshots: recent, expected, limit },
        },
        msg.burstMessage(m.bucket, await a.zoneOf(m.bucket), {
          at,
          recent,
          expected,
          limit,
          basis,
        }),
        now,
      );
    }
    await a.alerts.setCursor("bursts", String(at));
  }
}

async function scanRetentionShare(a: ScanContext, now: number): Promise<void> {
  const lastId = Number((await a.alerts.cursor("retention.share")) ?? "0");
  const rows = await a.deps.db.all<{ id: number; bucket: string; requested_at: DbInt }>(
    "SELECT id, bucket, requested_at FROM deletions WHERE id > ? AND reason = 'retention' AND substr(key, 1, 10) = 'snapshots/' AND requested_at <= ? ORDER BY id",
    [lastId, now],
  );
  const passes = new Map<string, { bucket: string; at: number; filed: number }>();
  for (const r of rows) {
    const k = `${r.bucket}:${String(r.requested_at)}`;
    const p = passes.get(k) ?? { bucket: r.bucket, at: Number(r.requested_at), filed: 0 };
    p.filed++;
    passes.set(k, p);
  }
  for (const p of passes.values()) {
    // Filed snapshots stay stored while pending, so the ledger still counts them.
    const total = Number(
      (
        await a.deps.db.get<{ n: DbInt }>(
          "SELECT COUNT(*) AS n FROM objects WHERE bucket = ? AND substr(key, 1, 10) = 'snapshots/' AND created_at <= ?",
          [p.bucket, p.at],
        )
      )?.n ?? 0,
    );
    const share = total === 0 ? 1 : p.filed / total;
    if (share > a.deps.cfg.retentionShare)
      await a.notify(
        {
          dedup: `retention-share:${p.bucket}:${String(p.at)}`,
          source: p.bucket,
          group: null,
          kind: "retention-share",
          state: "event",
          detail: { filed: p.filed, snapshots: total },
        },
        msg.retentionShareMessage(p.bucket, await a.zoneOf(p.bucket), {
          at: p.at,
          filed: p.filed,
          total,
          threshold: a.deps.cfg.retentionShare,
        }),
        now,
      );
  }
  const maxId = rows.reduce((m, r) => Math.max(m, r.id), lastId);
  if (maxId > lastId) await a.alerts.setCursor("retention.share", String(maxId));
}
