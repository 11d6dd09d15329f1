import { isCofferError } from "../core/errors.ts";
import { parseCron } from "../cron/cron.ts";
import type { ConfigReader } from "./config-reader.ts";
import type { ParseOptions } from "./config-types.ts";
import type { Schedule } from "./schedule.ts";

/** True when `tz` is an IANA time zone this Node knows. */
function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads a job's `schedule` (cron) + `tz`, or `every`, and its `window`; issues are recorded on
 * `r`. `keys` are the job's fields.
 */
export function parseSchedule(
  r: ConfigReader,
  at: string[],
  keys: string[],
  o: ParseOptions,
): { schedule: Schedule; describe: string } | undefined {
  const hasCron = keys.includes("schedule");
  const hasEvery = keys.includes("every");
  if (hasCron === hasEvery) {
    r.issue(
      at,
      hasCron
        ? "gives both schedule and every: use one"
        : 'has no schedule: give schedule (cron, e.g. "0 3 * * *") or every (e.g. 1h)',
    );
    return undefined;
  }
  const windowMs = r.duration([...at, "window"], 1000);
  const win = windowMs !== undefined ? { windowMs } : {};
  const winText = windowMs !== undefined ? `, window ${String(r.get([...at, "window"]))}` : "";
  if (hasEvery) {
    if (keys.includes("tz")) r.issue(at, "applies to cron schedules only", "tz");
    const everyMs = r.duration([...at, "every"], 1000);
    if (everyMs === undefined) return undefined;
    if (windowMs !== undefined && windowMs > everyMs)
      r.issue([...at, "window"], "is longer than the interval (every)");
    return {
      schedule: { kind: "every", everyMs, ...win },
      describe: `every ${String(r.get([...at, "every"]))}${winText}`,
    };
  }
  const expr = r.str([...at, "schedule"]);
  const tz = r.str([...at, "tz"]) ?? o.defaultTz;
  if (!validZone(tz)) r.issue([...at, "tz"], `unknown time zone "${tz}" (e.g. Europe/Paris, UTC)`);
  if (expr === undefined) return undefined;
  try {
    const cron = parseCron(expr);
    return {
      schedule: { kind: "cron", cron, tz, ...win },
      describe: `${cron.source} (${tz})${winText}`,
    };
  } catch (err) {
    if (!isCofferError(err)) throw err;
    r.issue([...at, "schedule"], err.message);
    return undefined;
  }
}
