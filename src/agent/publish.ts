import { randomBytes } from "node:crypto";
import type { Storage } from "../storage/storage.ts";
import type { AgentConfig } from "./config.ts";

/** One job as the gateway sees it: when its snapshots (tagged `job:NAME`) are due. */
export interface PublishedJob {
  job: string;
  cron: string | null;
  tz: string;
  everyMs: number | null;
  /** How long after a run time its backup may arrive: the window plus the job's grace. */
  graceMs: number;
}

const DEFAULT_GRACE = 3_600_000;

/**
 * The schedule a gateway derives missed-backup expectations from: every backup job (a check
 * job commits no snapshot, so it has none), with its window folded into the grace.
 */
export function publishedSchedule(config: AgentConfig): PublishedJob[] {
  return config.jobs
    .filter(
      (j) =>
        j.what.kind !== "check" &&
        j.what.kind !== "drill" &&
        j.what.kind !== "mirror" &&
        j.what.kind !== "copy",
    )
    .map((j) => {
      const graceMs = (j.schedule.windowMs ?? 0) + (j.graceMs ?? DEFAULT_GRACE);
      return j.schedule.kind === "cron"
        ? { job: j.name, cron: j.schedule.cron.source, tz: j.schedule.tz, everyMs: null, graceMs }
        : { job: j.name, cron: null, tz: "UTC", everyMs: j.schedule.everyMs, graceMs };
    });
}

/**
 * Publishes the schedule to a coffer-server gateway as a write-once status object
 * (`status/<time>-schedule-<rand>.json`, `kind: "schedule"`). It is plaintext on purpose: the
 * gateway reads it, and it holds only job names (already in every manifest's `job:` tag),
 * cron expressions, time zones and durations.
 */
export async function publishSchedule(
  storage: Storage,
  host: string,
  jobs: PublishedJob[],
  now: number,
): Promise<string> {
  const time = new Date(now).toISOString();
  const key = `status/${time.replace(/[:.]/g, "-")}-schedule-${randomBytes(4).toString("hex")}.json`;
  await storage.putIfAbsent(
    key,
    Buffer.from(`${JSON.stringify({ v: 2, kind: "schedule", host, time, jobs })}\n`),
  );
  return key;
}
