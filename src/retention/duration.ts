import { CofferError } from "../core/errors.ts";
import { HOUR_MS, instantOf, wallClock } from "./calendar.ts";

/**
 * A calendar duration such as `1y2m3d4h`. Years, months and days are calendar units (a
 * month back from March 31 is February 28/29, a day back across a DST change is 23 or 25
 * hours); hours are exact. Weeks (`w`) are stored as 7 days.
 */
export interface Duration {
  readonly years: number;
  readonly months: number;
  readonly days: number;
  readonly hours: number;
  /** The canonical text, e.g. `"7d"`, `"1y2m3d4h"`; used in keep reasons. */
  readonly text: string;
}

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?$/;

/** Builds a {@link Duration} from its parts and gives it its canonical text. */
export function duration(parts: {
  years?: number;
  months?: number;
  days?: number;
  hours?: number;
}): Duration {
  const years = parts.years ?? 0;
  const months = parts.months ?? 0;
  const days = parts.days ?? 0;
  const hours = parts.hours ?? 0;
  const text =
    [
      years ? `${years}y` : "",
      months ? `${months}m` : "",
      days ? `${days}d` : "",
      hours ? `${hours}h` : "",
    ].join("") || "0h";
  return { years, months, days, hours, text };
}

/**
 * Parses `"7d"`, `"150h"`, `"12m"` (months), `"3w"`, `"1y2m3d4h"`: units `y m w d h` in
 * that order, each at most once, at least one non-zero. Throws `BAD_INPUT` otherwise.
 * @param what names the setting in the error message (e.g. `"keepWithin"`).
 */
export function parseDuration(text: string, what = "duration"): Duration {
  const m = DURATION_RE.exec(text.trim());
  if (m === null || text.trim() === "") {
    throw new CofferError(
      "BAD_INPUT",
      `Invalid ${what} "${text}": expected a duration like 7d, 150h, 12m (months), 3w or 1y2m3d4h`,
    );
  }
  const n = (i: number): number => Number(m[i] ?? 0);
  const d = duration({ years: n(1), months: n(2), days: n(3) * 7 + n(4), hours: n(5) });
  if (d.years + d.months + d.days + d.hours === 0) {
    throw new CofferError("BAD_INPUT", `Invalid ${what} "${text}": must be longer than zero`);
  }
  for (const v of [d.years, d.months, d.days, d.hours]) {
    if (!Number.isSafeInteger(v) || v > 1_000_000) {
      throw new CofferError("BAD_INPUT", `Invalid ${what} "${text}": too large`);
    }
  }
  return d;
}

/** The sum of two durations, unit by unit (`7d` + `3w` = `28d`). */
export function addDurations(a: Duration, b: Duration): Duration {
  return duration({
    years: a.years + b.years,
    months: a.months + b.months,
    days: a.days + b.days,
    hours: a.hours + b.hours,
  });
}

/**
 * The instant `d` before `t`, computed on the wall clock of `timeZone`: years, months and
 * days first (day of month clamped to the target month's length), then exact hours.
 */
export function subtractDuration(t: number, d: Duration, timeZone: string): number {
  let out = t;
  if (d.years !== 0 || d.months !== 0 || d.days !== 0) {
    const w = wallClock(t, timeZone);
    const monthIndex = w.year * 12 + (w.month - 1) - d.years * 12 - d.months;
    const year = Math.floor(monthIndex / 12);
    const month = monthIndex - year * 12;
    const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    const day = Math.min(w.day, lastDay);
    const wall = Date.UTC(year, month, day - d.days, w.hour, w.minute, w.second, w.ms);
    out = instantOf(wall, timeZone);
  }
  return out - d.hours * HOUR_MS;
}
