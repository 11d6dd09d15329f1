import type { DbInt, Queryable } from "../db/dialect.ts";
import { type Alert, AlertStore, type OutboxItem } from "./alert-store.ts";
import {
  expectationStatus,
  ExpectationStore,
  type Expectation,
  tagsMatch,
} from "./expectations.ts";
import * as msg from "./messages.ts";
import type { AlerterDeps, NotifyOptions, NotifyRequest, ScanContext } from "./scan-context.ts";
import { scanEvents } from "./scan-events.ts";

export type { AlerterDeps } from "./scan-context.ts";

/**
 * Evaluates expectations and events and delivers notifications. `tick()` is idempotent and
 * driven by a timer (or a test's clock): every state change and its queued messages are
 * committed together, and delivery reads the persisted outbox, so a restart neither repeats
 * nor loses a notification.
 */
export class Alerter implements ScanContext {
  readonly expectations: ExpectationStore;
  readonly alerts: AlertStore;
  #running: Promise<void> = Promise.resolve();

  constructor(readonly deps: AlerterDeps) {
    this.expectations = new ExpectationStore(deps.db);
    this.alerts = new AlertStore(deps.db);
  }

  /** One evaluation pass and one delivery pass (serialised). */
  tick(): Promise<void> {
    const run = this.#running
      .catch(() => undefined)
      .then(async () => {
        const now = this.deps.clock.now();
        await this.#schedules(now);
        await scanEvents(this, now);
        await this.dispatch(now);
      });
    this.#running = run;
    return run;
  }

  /** Resolves when the current tick (if any) has finished. */
  idle(): Promise<void> {
    return this.#running.catch(() => undefined);
  }

  /** The time zone a source's messages use: its first cron expectation's, else the default. */
  async zoneOf(source: string): Promise<string> {
    const list = await this.expectations.list(source);
    return list.find((e) => e.cron !== null)?.tz ?? list[0]?.tz ?? this.deps.cfg.timeZone;
  }

  /** Newest commit time of a manifest of `source` matching the expectation's tags. */
  async lastArrival(
    e: Pick<Expectation, "source" | "tagMatch">,
    before?: number,
  ): Promise<number | null> {
    const rows = await this.deps.db.all<{ tags: string; committed_at: DbInt }>(
      "SELECT tags, committed_at FROM manifests WHERE bucket = ? AND committed_at <= ? ORDER BY committed_at DESC LIMIT 1000",
      [e.source, before ?? Number.MAX_SAFE_INTEGER],
    );
    const hit = rows.find((r) => tagsMatch(e.tagMatch, JSON.parse(r.tags) as string[]));
    return hit === undefined ? null : Number(hit.committed_at);
  }

  /**
   * Opens/updates an alert and queues its message on every channel (all but `except`), in
   * one transaction.
   */
  async notify(
    a: NotifyRequest,
    r: msg.Rendered,
    now: number,
    o: NotifyOptions = {},
  ): Promise<Alert> {
    return this.deps.db.transaction(async (tx) => {
      const store = new AlertStore(tx);
      let alert = o.existing;
      if (alert === undefined) {
        const opened = await store.open({
          dedup: a.dedup,
          source: a.source,
          group: a.group,
          kind: a.kind,
          state: a.state,
          openedAt: now,
          summary: r.subject,
          detail: a.detail ?? null,
        });
        if (!opened.created) return opened.alert; // already raised (a repeated scan)
        alert = opened.alert;
      }
      await store.update(alert.id, {
        lastNotifiedAt: now,
        summary: r.subject,
        ...(a.detail ? { detail: a.detail } : {}),
        ...(o.resolve === true ? { state: "resolved" as const, resolvedAt: now } : {}),
      });
      await this.#enqueue(tx, alert.id, a.source, r, a, now, o.except);
      return alert;
    });
  }

  async #enqueue(
    tx: Queryable,
    alertId: number,
    source: string,
    r: msg.Rendered,
    a: { kind: string; group: string | null; state: string },
    now: number,
    except?: string,
  ): Promise<void> {
    const sc = this.deps.cfg.sources[source];
    const store = new AlertStore(tx);
    for (const ch of this.deps.channels) {
      if (ch.name === except) continue;
      await store.enqueue(
        alertId,
        ch.name,
        {
          subject: r.subject,
          text: r.text,
          to: sc?.to ?? [],
          ...(sc?.from !== undefined ? { from: sc.from } : {}),
          event: {
            type: a.kind,
            source,
            group: a.group,
            state: a.state,
            alertId,
            time: new Date(now).toISOString(),
          },
        },
        now,
      );
    }
  }

  async #schedules(now: number): Promise<void> {
    for (const e of await this.expectations.list()) {
      const st = expectationStatus(e, await this.lastArrival(e, now), now);
      const open = await this.alerts.openIncident(e.source, "missed", e.group);
      const base = {
        source: e.source,
        group: e.group,
        kind: "missed" as const,
        state: "open" as const,
      };
      if (st.state === e.state) {
        if (
          st.state !== "up" &&
          open !== undefined &&
          now - (open.lastNotifiedAt ?? open.openedAt) >= this.deps.cfg.reminderMs
        ) {
          await this.notify(
            { ...base, dedup: open.dedup },
            msg.missedMessage("reminder", e, st, now, open.openedAt),
            now,
            { existing: open },
          );
        }
        continue;
      }
      if (st.state === "up") {
        if (open !== undefined)
          await this.notify(
            { ...base, dedup: open.dedup, state: "resolved" },
            msg.missedMessage("recovered", e, st, now, open.openedAt),
            now,
            { existing: open, resolve: true },
          );
      } else {
        const kind = st.state === "down" ? "down" : "late";
        const detail = { state: st.state, due: st.due, missed: st.missed };
        await this.notify(
          { ...base, dedup: open?.dedup ?? `missed:${e.id}:${st.due}`, detail },
          msg.missedMessage(kind, e, st, now, st.due),
          now,
          open ? { existing: open } : {},
        );
      }
      await this.expectations.setState(e.id, st.state, now);
    }
  }

  /** Delivers due outbox messages; failures retry with backoff, then raise an alerter alert. */
  async dispatch(now: number): Promise<void> {
    // Round two delivers what round one raised (an "alerter cannot send" notice).
    for (let round = 0; round < 2; round++) {
      const due = await this.alerts.due(now);
      if (due.length === 0) return;
      await this.#deliver(due, now);
    }
  }

  async #deliver(due: OutboxItem[], now: number): Promise<void> {
    const { retry } = this.deps.cfg;
    for (const item of due) {
      const ch = this.deps.channels.find((c) => c.name === item.channel);
      const entry = {
        time: now,
        credential: "gateway",
        action: "alert.send",
        source: typeof item.message.event.source === "string" ? item.message.event.source : null,
      };
      try {
        if (ch === undefined) throw new Error(`channel ${item.channel} is no longer configured`);
        await ch.send(item.message);
        await this.alerts.delivered(item.id, now);
        await this.deps.audit?.append({
          ...entry,
          result: "ok",
          detail: { channel: item.channel, alertId: item.alertId, subject: item.message.subject },
        });
      } catch (err) {
        const error = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
        const attempts = item.attempts + 1;
        const giveUp = attempts >= retry.attempts || ch === undefined;
        await this.alerts.attemptFailed(
          item.id,
          error,
          giveUp ? null : now + retry.backoffMs * 2 ** (attempts - 1),
        );
        await this.deps.audit?.append({
          ...entry,
          result: "failed",
          errorCode: "SendFailed",
          detail: {
            channel: item.channel,
            alertId: item.alertId,
            subject: item.message.subject,
            attempt: attempts,
            error,
            gaveUp: giveUp,
          },
        });
        if (giveUp) {
          await this.notify(
            {
              dedup: `alerter:${item.id}`,
              source: entry.source ?? "-",
              group: null,
              kind: "alerter",
              state: "event",
              detail: { channel: item.channel, error },
            },
            msg.alerterMessage(item.channel, item.message.subject, error, attempts),
            now,
            { except: item.channel },
          );
        }
      }
    }
  }

  /** Queues a test message for `source` on every channel and delivers it now. */
  async test(source: string): Promise<void> {
    const now = this.deps.clock.now();
    const tz = await this.zoneOf(source);
    await this.notify(
      { dedup: `test:${source}:${now}`, source, group: null, kind: "test", state: "event" },
      {
        subject: `[coffer] test message for ${source}`,
        text: `Source: ${source}\nSent at: ${msg.describeTime(now, tz)}\nThis is a test of every alert channel.\n`,
      },
      now,
    );
    await this.dispatch(now);
  }
}
