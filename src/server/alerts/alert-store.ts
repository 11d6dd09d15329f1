import type { DbInt, Queryable } from "../db/dialect.ts";

/** Kinds of alerts. */
export type AlertKind =
  | "missed"
  | "failed"
  | "deletion-requested"
  | "deletion-executed"
  | "anomaly"
  | "quota"
  | "burst"
  | "retention-share"
  | "alerter"
  | "test";

/** An alert: an incident (open → resolved) or a one-off event. */
export interface Alert {
  id: number;
  dedup: string;
  source: string;
  group: string | null;
  kind: AlertKind;
  /** `open`, `resolved`, or `event` (one-off, nothing to resolve). */
  state: "open" | "resolved" | "event";
  openedAt: number;
  lastNotifiedAt: number | null;
  resolvedAt: number | null;
  summary: string;
  detail: Record<string, unknown> | null;
}

/** A message to deliver through one channel. */
export interface OutMessage {
  subject: string;
  text: string;
  /** E-mail recipients and sender (SMTP only). */
  to: string[];
  from?: string;
  /** Machine-readable body for webhooks. */
  event: Record<string, unknown>;
}

/** A queued delivery. */
export interface OutboxItem {
  id: number;
  alertId: number | null;
  channel: string;
  message: OutMessage;
  state: "pending" | "sent" | "failed";
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
}

interface AlertRow {
  id: number;
  dedup: string;
  source: string;
  grp: string | null;
  kind: AlertKind;
  state: Alert["state"];
  opened_at: DbInt;
  last_notified_at: DbInt | null;
  resolved_at: DbInt | null;
  summary: string;
  detail: string | null;
}

const alertFromRow = (r: AlertRow): Alert => ({
  id: r.id,
  dedup: r.dedup,
  source: r.source,
  group: r.grp,
  kind: r.kind,
  state: r.state,
  openedAt: Number(r.opened_at),
  lastNotifiedAt: r.last_notified_at === null ? null : Number(r.last_notified_at),
  resolvedAt: r.resolved_at === null ? null : Number(r.resolved_at),
  summary: r.summary,
  detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
});

interface OutRow {
  id: number;
  alert_id: number | null;
  channel: string;
  message: string;
  state: OutboxItem["state"];
  attempts: number;
  next_attempt_at: DbInt;
  last_error: string | null;
}

/**
 * Alerts, their delivery outbox and the scan cursors, persisted so that a restart neither
 * repeats nor drops a notification: a state change and its messages are written in one
 * transaction, and delivery works from the outbox.
 */
export class AlertStore {
  constructor(private readonly db: Queryable) {}

  /** Inserts an alert unless its `dedup` key exists; returns it and whether it is new. */
  async open(
    a: Omit<Alert, "id" | "lastNotifiedAt" | "resolvedAt">,
  ): Promise<{ alert: Alert; created: boolean }> {
    const r = await this.db.run(
      `INSERT INTO alerts (dedup, source, grp, kind, state, opened_at, summary, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (dedup) DO NOTHING`,
      [
        a.dedup,
        a.source,
        a.group,
        a.kind,
        a.state,
        a.openedAt,
        a.summary,
        a.detail === null ? null : JSON.stringify(a.detail),
      ],
    );
    const row = await this.db.get<AlertRow>("SELECT * FROM alerts WHERE dedup = ?", [a.dedup]);
    if (row === undefined) throw new Error(`alert ${a.dedup} vanished`);
    return { alert: alertFromRow(row), created: r.changes === 1 };
  }

  async openIncident(
    source: string,
    kind: AlertKind,
    group: string | null,
  ): Promise<Alert | undefined> {
    const r = await this.db.get<AlertRow>(
      "SELECT * FROM alerts WHERE state = 'open' AND source = ? AND kind = ? AND COALESCE(grp, '') = ? ORDER BY id DESC LIMIT 1",
      [source, kind, group ?? ""],
    );
    return r === undefined ? undefined : alertFromRow(r);
  }

  async update(
    id: number,
    o: {
      state?: Alert["state"];
      lastNotifiedAt?: number;
      resolvedAt?: number;
      summary?: string;
      detail?: Record<string, unknown>;
    },
  ): Promise<void> {
    const sets: string[] = [];
    const params: (string | number)[] = [];
    const set = (col: string, v: string | number | undefined): void => {
      if (v === undefined) return;
      sets.push(`${col} = ?`);
      params.push(v);
    };
    set("state", o.state);
    set("last_notified_at", o.lastNotifiedAt);
    set("resolved_at", o.resolvedAt);
    set("summary", o.summary);
    set("detail", o.detail === undefined ? undefined : JSON.stringify(o.detail));
    if (sets.length === 0) return;
    await this.db.run(`UPDATE alerts SET ${sets.join(", ")} WHERE id = ?`, [...params, id]);
  }

  /** Open alerts, then the most recent others. */
  async list(o: { source?: string; limit?: number } = {}): Promise<Alert[]> {
    const where = o.source === undefined ? "" : "WHERE source = ?";
    const params: (string | number)[] = o.source === undefined ? [] : [o.source];
    const rows = await this.db.all<AlertRow>(
      `SELECT * FROM alerts ${where} ORDER BY (state = 'open') DESC, id DESC LIMIT ?`,
      [...params, o.limit ?? 50],
    );
    return rows.map(alertFromRow);
  }

  async enqueue(
    alertId: number | null,
    channel: string,
    message: OutMessage,
    now: number,
  ): Promise<void> {
    await this.db.run(
      "INSERT INTO alert_outbox (alert_id, channel, message, created_at, state, attempts, next_attempt_at) VALUES (?, ?, ?, ?, 'pending', 0, ?)",
      [alertId, channel, JSON.stringify(message), now, now],
    );
  }

  async due(now: number): Promise<OutboxItem[]> {
    const rows = await this.db.all<OutRow>(
      "SELECT * FROM alert_outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT 200",
      [now],
    );
    return rows.map((r) => ({
      id: r.id,
      alertId: r.alert_id,
      channel: r.channel,
      message: JSON.parse(r.message) as OutMessage,
      state: r.state,
      attempts: r.attempts,
      nextAttemptAt: Number(r.next_attempt_at),
      lastError: r.last_error,
    }));
  }

  async delivered(id: number, now: number): Promise<void> {
    await this.db.run(
      "UPDATE alert_outbox SET state = 'sent', attempts = attempts + 1, sent_at = ?, last_error = NULL WHERE id = ?",
      [now, id],
    );
  }

  async attemptFailed(id: number, error: string, next: number | null): Promise<void> {
    await this.db.run(
      "UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?, state = ?, next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
      [error, next === null ? "failed" : "pending", next, id],
    );
  }

  async cursor(name: string): Promise<string | undefined> {
    return (
      await this.db.get<{ value: string }>("SELECT value FROM alert_cursors WHERE name = ?", [name])
    )?.value;
  }

  async setCursor(name: string, value: string): Promise<void> {
    await this.db.run(
      "INSERT INTO alert_cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      [name, value],
    );
  }
}
