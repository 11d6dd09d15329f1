import type { Clock } from "../../core/deps.ts";
import type { Storage } from "../../storage/storage.ts";
import { Alerter } from "../alerts/alerter.ts";
import { channelsOf, type Channel } from "../alerts/channels.ts";
import type { ServerConfig } from "../config.ts";
import type { Gateway } from "../gateway.ts";
import type { Metadata } from "../metadata.ts";
import { checkAuditRetention } from "./audit-config.ts";
import { AuditLog } from "./audit-log.ts";
import { writeAnchor } from "./anchors.ts";
import { auditHooks } from "./hooks.ts";

/** The running audit log and alerter of a server. */
export interface Monitor {
  audit: AuditLog | undefined;
  alerter: Alerter;
  /** Anchors the chain head now and prunes entries past retention. */
  housekeeping(): Promise<void>;
  /** Anchors the chain head now (each maintenance pass does). */
  anchor(): Promise<void>;
  /** Stops the timers, records the shutdown and anchors the final head. */
  stop(): Promise<void>;
}

/** The longest deletion delay in force: the server minimum or any source's own. */
export async function longestDeletionDelay(cfg: ServerConfig, metadata: Metadata): Promise<number> {
  return Math.max(
    cfg.minDeletionDelayMs,
    ...(await metadata.sources.list()).map((s) => s.deletionDelayMs),
  );
}

/**
 * Wires the audit log into the gateway (write-ahead + outcome entries), anchors the chain
 * head every `audit.anchorInterval` and at shutdown, and runs the alerter every
 * `alerts.checkInterval`. Timers are unref'd; `onError` hears about failed background runs.
 */
export async function startMonitor(o: {
  cfg: ServerConfig;
  metadata: Metadata;
  storage: Storage;
  gateway: Gateway;
  clock: Clock;
  channels?: Channel[];
  onError?: (what: string, err: unknown) => void;
}): Promise<Monitor> {
  const { cfg, metadata, storage, clock } = o;
  const onError = o.onError ?? (() => undefined);
  let audit: AuditLog | undefined;
  if (cfg.audit.enabled) {
    checkAuditRetention(cfg.audit.retentionMs, await longestDeletionDelay(cfg, metadata));
    audit = new AuditLog(metadata.db);
    o.gateway.hooks = auditHooks(audit);
    await audit.append({
      time: clock.now(),
      credential: "gateway",
      action: "server.start",
      result: "ok",
      detail: { pid: process.pid },
    });
  }
  const alerter = new Alerter({
    db: metadata.db,
    metadata,
    storage,
    cfg: cfg.alerts,
    clock,
    channels: o.channels ?? channelsOf(cfg.alerts),
    ...(audit ? { audit } : {}),
  });
  let lastAnchored = 0;
  let anchoring: Promise<void> | undefined;
  let anchorTimer: NodeJS.Timeout | undefined;
  const anchorNow = (): Promise<void> => {
    if (audit === undefined) return Promise.resolve();
    const log = audit;
    const run = (anchoring ?? Promise.resolve())
      .then(() => writeAnchor(log, storage, clock.now()))
      .then((a) => {
        if (a !== undefined) lastAnchored = Math.max(lastAnchored, a.seq);
      });
    const tracked = run.finally(() => {
      if (anchoring === tracked) anchoring = undefined;
    });
    anchoring = tracked.catch(() => undefined);
    return run;
  };
  if (audit !== undefined) {
    // Anchor within `anchorDelay` of any new entry (and at once every `anchorEvery` entries),
    // in the background: a failure is reported and the next commit tries again; the request
    // that appended never waits for it.
    audit.onCommitted = (seq) => {
      const report = (err: unknown): void => {
        onError("audit anchor", err);
      };
      if (cfg.audit.anchorEvery > 0 && seq - lastAnchored >= cfg.audit.anchorEvery) {
        void anchorNow().catch(report);
        return;
      }
      if (anchorTimer !== undefined) return;
      anchorTimer = setTimeout(() => {
        anchorTimer = undefined;
        void anchorNow().catch(report);
      }, cfg.audit.anchorDelayMs);
      anchorTimer.unref();
    };
  }
  const housekeeping = async (): Promise<void> => {
    if (audit === undefined) return;
    const now = clock.now();
    await anchorNow();
    const keep = Math.max(cfg.audit.retentionMs, await longestDeletionDelay(cfg, metadata));
    await audit.prune(now - keep, now);
  };
  const timers = [
    setInterval(() => {
      housekeeping().catch((err: unknown) => {
        onError("audit anchor", err);
      });
    }, cfg.audit.anchorIntervalMs),
    setInterval(() => {
      alerter.tick().catch((err: unknown) => {
        onError("alerter", err);
      });
    }, cfg.alerts.checkIntervalMs),
  ];
  for (const t of timers) t.unref();
  let stopped = false;
  return {
    audit,
    alerter,
    housekeeping,
    anchor: anchorNow,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearInterval(t);
      await alerter.idle();
      if (audit !== undefined) {
        audit.onCommitted = undefined;
        if (anchorTimer !== undefined) clearTimeout(anchorTimer);
        await audit.append({
          time: clock.now(),
          credential: "gateway",
          action: "server.stop",
          result: "ok",
        });
        await anchoring;
        await writeAnchor(audit, storage, clock.now());
      }
    },
  };
}
