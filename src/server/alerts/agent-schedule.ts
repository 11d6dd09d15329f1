import { parseCron } from "../../cron/cron.ts";
import type { ScanContext } from "./scan-context.ts";
import { tagsMatch } from "./expectations.ts";

/** Group name prefix of expectations derived from an agent's published schedule. */
export const AGENT_GROUP = "agent:";

/** One backup job of a schedule a `coffer agent` publishes (`status/<time>.json`, `kind: "schedule"`). */
export interface PublishedJob {
  job: string;
  cron: string | null;
  tz: string;
  everyMs: number | null;
  graceMs: number;
}

/** Reads a published schedule, or undefined when the object is something else (a run status). */
export function parseAgentSchedule(bytes: Uint8Array): PublishedJob[] | undefined {
  let d: unknown;
  try {
    d = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return undefined;
  }
  const o = d as { kind?: unknown; jobs?: unknown };
  if (o.kind !== "schedule" || !Array.isArray(o.jobs)) return undefined;
  const out: PublishedJob[] = [];
  for (const j of o.jobs.slice(0, 100) as Partial<PublishedJob>[]) {
    if (typeof j.job !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(j.job)) continue;
    const cron = typeof j.cron === "string" ? j.cron : null;
    const everyMs = typeof j.everyMs === "number" && j.everyMs >= 1000 ? j.everyMs : null;
    if ((cron === null) === (everyMs === null)) continue;
    try {
      if (cron !== null) parseCron(cron);
      if (typeof j.tz === "string") new Intl.DateTimeFormat("en-US", { timeZone: j.tz });
    } catch {
      continue;
    }
    const graceMs = typeof j.graceMs === "number" && j.graceMs >= 0 ? j.graceMs : 3_600_000;
    out.push({ job: j.job, cron, tz: typeof j.tz === "string" ? j.tz : "UTC", everyMs, graceMs });
  }
  return out;
}

/**
 * Derives the missed-backup expectations of `source` from an agent's published schedule:
 * group `agent:JOB`, for snapshots tagged `job:JOB`. Expectations set by hand win: a job whose
 * snapshots a hand-set expectation of the source already covers gets none. A publish never
 * removes an expectation (a job dropped from the agent's configuration keeps alerting until
 * the operator removes it), so client credentials cannot silence monitoring by publishing an
 * empty schedule.
 */
export async function applyAgentSchedule(
  a: ScanContext,
  source: string,
  jobs: readonly PublishedJob[],
  now: number,
): Promise<void> {
  const existing = await a.expectations.list(source);
  const byHand = existing.filter((e) => !e.group.startsWith(AGENT_GROUP));
  for (const j of jobs) {
    const tag = `job:${j.job}`;
    if (byHand.some((e) => tagsMatch(e.tagMatch, [tag]))) continue;
    const group = `${AGENT_GROUP}${j.job}`;
    const prev = existing.find((e) => e.group === group);
    if (
      prev !== undefined &&
      prev.cron === j.cron &&
      prev.tz === j.tz &&
      prev.everyMs === j.everyMs &&
      prev.graceMs === j.graceMs
    )
      continue;
    await a.expectations.set({
      source,
      group,
      tagMatch: tag,
      cron: j.cron,
      tz: j.tz,
      everyMs: j.everyMs,
      graceMs: j.graceMs,
      downAfter: prev?.downAfter ?? a.deps.cfg.downAfter,
      createdAt: now,
    });
  }
}
