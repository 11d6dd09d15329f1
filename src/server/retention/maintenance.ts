import type { Clock } from "../../core/deps.ts";
import type { Storage } from "../../storage/storage.ts";
import { executeDue, type ExecutorReport } from "../deletions/executor.ts";
import { runGc, type GcReport } from "../gc/run-gc.ts";
import type { Metadata } from "../metadata.ts";
import type { RetentionFloor } from "./floor.ts";
import { runRetention, type RetentionReport } from "./run-retention.ts";

/** Settings of the maintenance job. */
export interface MaintenanceOptions {
  /** Server-wide minimum deletion delay (config `minDeletionDelay`). */
  minDelayMs: number;
  /** GC margin (default 24h). */
  gcMarginMs?: number;
  /** Time zone of retention calendars (default UTC). */
  timeZone?: string;
  /** The server floor under every policy (config `retention.floor`; default 7 days, 7 days). */
  floor?: RetentionFloor;
}

/** One maintenance pass: retention → GC (packs, then index objects) → executor, for every source. */
export interface MaintenanceReport {
  now: number;
  retention: RetentionReport[];
  gc: GcReport[];
  executor: ExecutorReport;
}

/**
 * Runs retention (sources with a policy), GC and the deletion executor once, at `now`
 * (ms, from the injected clock). Every step is idempotent, so a pass interrupted anywhere is
 * simply repeated by the next one.
 */
export async function runMaintenance(
  md: Metadata,
  storage: Storage,
  now: number,
  o: MaintenanceOptions,
): Promise<MaintenanceReport> {
  const report: MaintenanceReport = {
    now,
    retention: [],
    gc: [],
    executor: { executed: [], held: 0 },
  };
  const base = { now, minDelayMs: o.minDelayMs };
  for (const s of await md.sources.list()) {
    const r = await runRetention(md, s, {
      ...base,
      ...(o.timeZone !== undefined ? { timeZone: o.timeZone } : {}),
      ...(o.floor !== undefined ? { floor: o.floor } : {}),
    });
    if (r !== undefined) report.retention.push(r);
    report.gc.push(
      await runGc(md, s, {
        ...base,
        storage,
        ...(o.gcMarginMs !== undefined ? { marginMs: o.gcMarginMs } : {}),
      }),
    );
  }
  report.executor = await executeDue(md, storage, now);
  return report;
}

/** A running maintenance schedule. */
export interface MaintenanceSchedule {
  /** Runs a pass now (waits for a pass in progress first); resolves with its report. */
  runNow(): Promise<MaintenanceReport>;
  stop(): Promise<void>;
}

/**
 * Runs {@link runMaintenance} every `intervalMs` (real timer) at the injected clock's time;
 * passes never overlap. Errors go to `onError` and the schedule goes on.
 */
export function scheduleMaintenance(
  md: Metadata,
  storage: Storage,
  clock: Clock,
  o: MaintenanceOptions & {
    intervalMs: number;
    onReport?: (r: MaintenanceReport) => void;
    onError?: (err: unknown) => void;
  },
): MaintenanceSchedule {
  let chain: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const pass = (): Promise<MaintenanceReport> => {
    const p = chain.then(() => runMaintenance(md, storage, clock.now(), o));
    chain = p.then(
      (r) => {
        o.onReport?.(r);
      },
      (err: unknown) => {
        o.onError?.(err);
      },
    );
    return p;
  };
  const tick = (): void => {
    if (!stopped) void pass().catch(() => undefined);
  };
  // The first pass runs soon after start, so a server restarted more often than the
  // interval still runs retention, GC and due deletions.
  const first = setTimeout(tick, Math.min(o.intervalMs, 1000));
  first.unref();
  const timer = setInterval(tick, o.intervalMs);
  timer.unref();
  return {
    runNow: pass,
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await chain;
    },
  };
}
