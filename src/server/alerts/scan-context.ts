/**
 * What the alert scanners (scan-events, scan-retention, agent-schedule) use of the alerter:
 * its dependencies, stores, time zones and `notify`. `Alerter` implements it, so the scanners
 * need not import the class that runs them.
 */
import type { Clock } from "../../core/deps.ts";
import type { Storage } from "../../storage/storage.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import type { Dialect } from "../db/dialect.ts";
import type { Metadata } from "../metadata.ts";
import type { AlertsConfig } from "./alerts-config.ts";
import type { Alert, AlertKind, AlertStore } from "./alert-store.ts";
import type { Channel } from "./channels.ts";
import type { ExpectationStore } from "./expectations.ts";
import type { Rendered } from "./messages.ts";

/** What the alerter needs. */
export interface AlerterDeps {
  db: Dialect;
  metadata: Metadata;
  storage: Storage;
  cfg: AlertsConfig;
  clock: Clock;
  channels: Channel[];
  audit?: AuditLog;
}

/** The alert `notify` opens or updates. */
export interface NotifyRequest {
  dedup: string;
  source: string;
  group: string | null;
  kind: AlertKind;
  state: Alert["state"];
  detail?: Record<string, unknown> | null;
}

/** How `notify` treats an existing alert and which channel it skips. */
export interface NotifyOptions {
  existing?: Alert;
  resolve?: boolean;
  except?: string;
}

/** The alerter as the scanners see it. */
export interface ScanContext {
  readonly deps: AlerterDeps;
  readonly expectations: ExpectationStore;
  readonly alerts: AlertStore;
  /** The time zone a source's messages use. */
  zoneOf(source: string): Promise<string>;
  /** Opens/updates an alert and queues its message on every channel, in one transaction. */
  notify(a: NotifyRequest, r: Rendered, now: number, o?: NotifyOptions): Promise<Alert>;
}
