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
  if (audit !== undefined && cfg.audit.anchorEvery > 0) {
    const log = audit;
    // Anchor every `anchorEvery` entries too, in the background (a failure is reported and the
    // next commit tries again; the request that crossed the threshold never waits for it).
    log.onCommitted = (seq) => {
      if (anchoring !== undefined || seq - lastAnchored < cfg.audit.anchorEvery) return;
      anchoring = writeAnchor(log, storage, clock.now())
        .then((a) => {
          if (a !== undefined) lastAnchored = a.seq;
        })
        .catch((err: unknown) => {
          onError("audit anchor", err);
        })
        .finally(() => {
          anchoring = undefined;
        });
    };
  }
  const housekeeping = async (): Promise<void> => {
    if (audit === undefined) return;
    const now = clock.now();
    const a = await writeAnchor(audit, storage, now);
    if (a !== undefined) lastAnchored = Math.max(lastAnchored, a.seq);
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
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearInterval(t);
      await alerter.idle();
      if (audit !== undefined) {
        await audit.append({
          time: clock.now(),
          credential: "gateway",
          action: "server.stop",
          result: "ok",
        });
        audit.onCommitted = undefined;
        await anchoring;
        await writeAnchor(audit, storage, clock.now());
      }
    },
  };
}
