import type { DbInt } from "../db/dialect.ts";
import { deletionFromRow, type DeletionRow } from "../deletions.ts";
import { storageKey } from "../object-store.ts";
import { applyAgentSchedule, parseAgentSchedule } from "./agent-schedule.ts";
import type { ScanContext } from "./scan-context.ts";
import { tagsMatch } from "./expectations.ts";
import * as msg from "./messages.ts";
import { scanRetentionRisks } from "./scan-retention.ts";

/**
 * The status object a client writes after a run: `status/<ts>.json`. Version 2 (coffer
 * since issue 11) carries only `ok`, `result`, `code`, tags, host, times and sizes in
 * plaintext; the message and log are sealed in `details` under the repository key, which
 * the gateway never has. A version 1 object's plaintext `message` is still shown.
 */
export interface ClientStatus {
  ok: boolean;
  message: string;
  tags: string[];
}

function parseStatus(bytes: Uint8Array): ClientStatus | undefined {
  try {
    const d = JSON.parse(Buffer.from(bytes).toString("utf8")) as Partial<
      ClientStatus & { result: unknown; code: unknown }
    >;
    if (typeof d.ok !== "boolean") return undefined;
    const tags = Array.isArray(d.tags)
      ? d.tags.filter((t): t is string => typeof t === "string").slice(0, 50)
      : [];
    const word = (v: unknown): string | undefined =>
      typeof v === "string" && /^[A-Za-z][\w-]{0,40}$/.test(v) ? v : undefined;
    const code = word(d.code);
    const summary = `${word(d.result) ?? (d.ok ? "success" : "failure")}${code !== undefined ? ` (${code})` : ""}; details are sealed in the repository`;
    return {
      ok: d.ok,
      message: typeof d.message === "string" ? d.message.slice(0, 2000) : summary,
      tags,
    };
  } catch {
    return undefined;
  }
}

interface Stats {
  files?: number;
  bytes?: number;
  changedFiles?: number;
  newFiles?: number;
}

/** Runs every event scan: status reports, new manifests, deletions, quotas. */
export async function scanEvents(a: ScanContext, now: number): Promise<void> {
  await scanStatus(a, now);
  await scanManifests(a, now);
  await scanDeletions(a, now);
  await scanQuotas(a, now);
  await scanRetentionRisks(a, now);
}

async function groupOf(a: ScanContext, source: string, tags: string[]): Promise<string | null> {
  return (
    (await a.expectations.list(source)).find((e) => tagsMatch(e.tagMatch, tags))?.group ?? null
  );
}

async function scanStatus(a: ScanContext, now: number): Promise<void> {
  const since = Number((await a.alerts.cursor("status")) ?? "0");
  const rows = await a.deps.db.all<{ bucket: string; key: string; created_at: DbInt }>(
    "SELECT bucket, key, created_at FROM objects WHERE substr(key, 1, 7) = 'status/' AND created_at > ? AND created_at <= ? ORDER BY created_at, bucket, key",
    [since, now],
  );
  for (const r of rows) {
    const at = Number(r.created_at);
    const bytes = await a.deps.storage
      .get(storageKey(r.bucket, r.key))
      .catch(() => new Uint8Array());
    // A `coffer agent`'s published schedule: derive the source's expectations from it.
    const schedule = parseAgentSchedule(bytes);
    if (schedule !== undefined) await applyAgentSchedule(a, r.bucket, schedule, at);
    const st = schedule === undefined ? parseStatus(bytes) : undefined;
    if (st !== undefined && !st.ok) {
      const group = await groupOf(a, r.bucket, st.tags);
      await a.notify(
        {
          dedup: `failed:${r.bucket}/${r.key}`,
          source: r.bucket,
          group,
          kind: "failed",
          state: "open",
          detail: { tags: st.tags, message: st.message, key: r.key, at },
        },
        msg.failedMessage(r.bucket, group, await a.zoneOf(r.bucket), { ...st, key: r.key, at }),
        now,
      );
    }
    await a.alerts.setCursor("status", String(at));
  }
}

async function scanManifests(a: ScanContext, now: number): Promise<void> {
  const since = Number((await a.alerts.cursor("manifests")) ?? "0");
  const rows = await a.deps.db.all<{
    bucket: string;
    key: string;
    snapshot_id: string;
    host: string;
    tags: string;
    committed_at: DbInt;
    stats: string;
  }>(
    "SELECT bucket, key, snapshot_id, host, tags, committed_at, stats FROM manifests WHERE committed_at > ? AND committed_at <= ? ORDER BY committed_at, bucket, key",
    [since, now],
  );
  const { changedRatio, sizeDrop } = a.deps.cfg.anomaly;
  for (const m of rows) {
    const at = Number(m.committed_at);
    const tags = JSON.parse(m.tags) as string[];
    const tz = await a.zoneOf(m.bucket);
    // A failed run is resolved by the next backup of its group.
    for (const f of (await a.alerts.list({ source: m.bucket, limit: 200 })).filter(
      (x) => x.kind === "failed" && x.state === "open" && x.openedAt <= at,
    )) {
      const exp =
        f.group === null
          ? undefined
          : (await a.expectations.list(m.bucket)).find((e) => e.group === f.group);
      const reported = (f.detail?.tags as string[] | undefined) ?? [];
      const same =
        exp !== undefined ? tagsMatch(exp.tagMatch, tags) : reported.every((t) => tags.includes(t));
      if (same)
        await a.notify(
          { dedup: f.dedup, source: f.source, group: f.group, kind: "failed", state: "resolved" },
          msg.failedRecoveredMessage(m.bucket, f.group, tz, at),
          now,
          { existing: f, resolve: true },
        );
    }
    const prev = await a.deps.db.get<{ stats: string }>(
      "SELECT stats FROM manifests WHERE bucket = ? AND host = ? AND tags = ? AND (committed_at < ? OR (committed_at = ? AND key < ?)) ORDER BY committed_at DESC, key DESC LIMIT 1",
      [m.bucket, m.host, m.tags, at, at, m.key],
    );
    if (prev !== undefined) {
      const s = JSON.parse(m.stats) as Stats;
      const p = JSON.parse(prev.stats) as Stats;
      const reasons: string[] = [];
      const files = s.files ?? 0;
      const changed = (s.changedFiles ?? 0) + (s.newFiles ?? 0);
      if (files > 0 && changed / files > changedRatio)
        reasons.push(
          `${Math.round((changed / files) * 100)}% of files changed or new (${changed} of ${files}; threshold ${Math.round(changedRatio * 100)}%)`,
        );
      if ((p.bytes ?? 0) > 0 && (s.bytes ?? 0) < (p.bytes ?? 0) * (1 - sizeDrop)) {
        reasons.push(
          `logical size dropped by ${Math.round((1 - (s.bytes ?? 0) / (p.bytes ?? 1)) * 100)}% (${p.bytes ?? 0} → ${s.bytes ?? 0} bytes; threshold ${Math.round(sizeDrop * 100)}%)`,
        );
      }
      if (reasons.length > 0) {
        await a.notify(
          {
            dedup: `anomaly:${m.bucket}/${m.key}`,
            source: m.bucket,
            group: await groupOf(a, m.bucket, tags),
            kind: "anomaly",
            state: "event",
            detail: { snapshot: m.snapshot_id, reasons },
          },
          msg.anomalyMessage(m.bucket, tz, {
            snapshot: m.snapshot_id,
            host: m.host,
            tags,
            at,
            reasons,
          }),
          now,
        );
      }
    }
    await a.alerts.setCursor("manifests", String(at));
  }
}

interface DelRow extends DeletionRow {
  state_changed_at: DbInt | null;
}

const toDeletion = deletionFromRow;

function groupBy<T>(rows: T[], key: (r: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) m.set(key(r), [...(m.get(key(r)) ?? []), r]);
  return m;
}

async function scanDeletions(a: ScanContext, now: number): Promise<void> {
  const lastId = Number((await a.alerts.cursor("deletions.requested")) ?? "0");
  const req = await a.deps.db.all<DelRow>(
    "SELECT * FROM deletions WHERE id > ? AND reason = 'user' AND requested_at <= ? ORDER BY id",
    [lastId, now],
  );
  for (const [k, rows] of groupBy(req, (r) => `${r.bucket}:${r.request_id ?? String(r.id)}`)) {
    const bucket = rows[0]?.bucket ?? "";
    await a.notify(
      {
        dedup: `deletion-requested:${k}`,
        source: bucket,
        group: null,
        kind: "deletion-requested",
        state: "event",
        detail: { ids: rows.map((r) => r.id) },
      },
      msg.deletionRequestedMessage(bucket, await a.zoneOf(bucket), rows.map(toDeletion)),
      now,
    );
  }
  const maxId = req.reduce((m, r) => Math.max(m, r.id), lastId);
  if (maxId > lastId) await a.alerts.setCursor("deletions.requested", String(maxId));
  const since = Number((await a.alerts.cursor("deletions.executed")) ?? "0");
  const ex = await a.deps.db.all<DelRow>(
    "SELECT * FROM deletions WHERE state = 'EXECUTED' AND state_changed_at > ? AND state_changed_at <= ? ORDER BY state_changed_at, id",
    [since, now],
  );
  for (const [bucket, rows] of groupBy(ex, (r) => r.bucket)) {
    const last = rows[rows.length - 1];
    await a.notify(
      {
        dedup: `deletion-executed:${bucket}:${last?.id ?? 0}`,
        source: bucket,
        group: null,
        kind: "deletion-executed",
        state: "event",
        detail: { ids: rows.map((r) => r.id) },
      },
      msg.deletionExecutedMessage(
        bucket,
        await a.zoneOf(bucket),
        rows.map((r) => ({ id: r.id, key: r.key, at: Number(r.state_changed_at) })),
      ),
      now,
    );
  }
  const maxAt = ex.reduce((m, r) => Math.max(m, Number(r.state_changed_at)), since);
  if (maxAt > since) await a.alerts.setCursor("deletions.executed", String(maxAt));
}

async function scanQuotas(a: ScanContext, now: number): Promise<void> {
  for (const [source, sc] of Object.entries(a.deps.cfg.sources)) {
    if (sc.quota === undefined) continue;
    const { bytes } = await a.deps.metadata.objects.count(source);
    const level =
      bytes >= sc.quota ? "over" : bytes >= sc.quota * a.deps.cfg.quotaWarnRatio ? "near" : "ok";
    const open = await a.alerts.openIncident(source, "quota", null);
    const detail = { level, bytes, quota: sc.quota };
    if (level === "ok") {
      if (open !== undefined)
        await a.notify(
          { dedup: open.dedup, source, group: null, kind: "quota", state: "resolved", detail },
          msg.quotaMessage(source, "ok", bytes, sc.quota),
          now,
          { existing: open, resolve: true },
        );
    } else if (open === undefined || open.detail?.level !== level) {
      await a.notify(
        {
          dedup: open?.dedup ?? `quota:${source}:${now}`,
          source,
          group: null,
          kind: "quota",
          state: "open",
          detail,
        },
        msg.quotaMessage(source, level, bytes, sc.quota),
        now,
        open ? { existing: open } : {},
      );
    }
  }
}
