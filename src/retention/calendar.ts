import { CofferError } from "../core/errors.ts";

/** Milliseconds in an hour and in a (24-hour) day. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
const QUARTER_MS = 900_000;

/** A calendar period used for buckets ("one per day") and tier slots ("3 per week"). */
export type Period = "hour" | "day" | "week" | "month" | "year";

/** Wall-clock reading of an instant in a time zone. `weekday` is ISO: 1 = Monday … 7 = Sunday. */
export interface WallClock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly ms: number;
  readonly weekday: number;
  /** Offset from UTC in ms (wall clock = instant + offset). */
  readonly offsetMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, number>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch (err) {
      throw new CofferError("BAD_INPUT", `Invalid time zone "${timeZone}": not an IANA name`, {
        cause: err,
      });
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws `BAD_INPUT` unless `timeZone` is an IANA time zone name this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  formatter(timeZone);
}

function computeOffset(t: number, timeZone: string): number {
  const whole = t - (((t % 1000) + 1000) % 1000);
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(whole)) {
    if (part.type !== "literal") p[part.type] = Number(part.value);
  }
  const asUtc = Date.UTC(
    p.year ?? 0,
    (p.month ?? 1) - 1,
    p.day ?? 1,
    p.hour ?? 0,
    p.minute ?? 0,
    p.second ?? 0,
  );
  return asUtc - whole;
}

/**
 * UTC offset (ms) of `timeZone` at instant `t`. Cached per quarter hour when the offset is
 * the same at both ends of the quarter (every real transition falls on such a boundary).
 */
export function offsetAt(t: number, timeZone: string): number {
  if (timeZone === "UTC" || timeZone === "Etc/UTC") return 0;
  const q = Math.floor(t / QUARTER_MS);
  const key = `${timeZone} ${q}`;
  const hit = offsetCache.get(key);
  if (hit !== undefined) return hit;
  const a = computeOffset(q * QUARTER_MS, timeZone);
  const b = computeOffset(q * QUARTER_MS + QUARTER_MS - 1000, timeZone);
  if (a !== b) return computeOffset(t, timeZone);
  if (offsetCache.size > 200_000) offsetCache.clear();
  offsetCache.set(key, a);
  return a;
}

/** The wall-clock reading of instant `t` (ms since the epoch) in `timeZone`. */
export function wallClock(t: number, timeZone: string): WallClock {
  const offsetMs = offsetAt(t, timeZone);
  const w = new Date(t + offsetMs);
  const dow = w.getUTCDay();
  return {
    year: w.getUTCFullYear(),
    month: w.getUTCMonth() + 1,
    day: w.getUTCDate(),
    hour: w.getUTCHours(),
    minute: w.getUTCMinutes(),
    second: w.getUTCSeconds(),
    ms: w.getUTCMilliseconds(),
    weekday: dow === 0 ? 7 : dow,
    offsetMs,
  };
}

/** Wall-clock fields encoded as if they were UTC (handy for calendar arithmetic). */
export function wallMs(w: WallClock): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms);
}

/**
 * The instant whose wall clock in `timeZone` reads `wall` (encoded as by {@link wallMs}).
 * In a fall-back overlap the earlier instant is returned; in a spring-forward gap the wall
 * time is read with the offset in force before the gap (02:30 in Paris's gap is 03:30 CEST).
 */
export function instantOf(wall: number, timeZone: string): number {
  const before = offsetAt(wall - 14 * HOUR_MS, timeZone);
  const after = offsetAt(wall + 14 * HOUR_MS, timeZone);
  let best: number | undefined;
  for (const o of [before, after]) {
    const t = wall - o;
    if (offsetAt(t, timeZone) === o && (best === undefined || t < best)) best = t;
  }
  return best ?? wall - before;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** ISO 8601 week-numbering year and week (1–53) of a calendar date. */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = Date.UTC(year, month - 1, day);
  const dow = new Date(date).getUTCDay() || 7;
  const thursday = date + (4 - dow) * DAY_MS;
  const isoYear = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(isoYear, 0, 1)) / DAY_MS / 7);
  return { year: isoYear, week };
}

/**
 * The bucket `w` falls in for `period`, as a sortable string. Days, weeks (ISO, Monday
 * first), months and years follow the wall clock, so a 23-hour or 25-hour DST day is one
 * day. Hours are real hours: the repeated wall hour of a fall-back night is two buckets.
 */
export function bucketKey(period: Period, w: WallClock): string {
  const date = `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
  switch (period) {
    case "hour": {
      const off = w.offsetMs / 60_000;
      const sign = off < 0 ? "-" : "+";
      return `${date}T${pad(w.hour)}${sign}${pad(Math.floor(Math.abs(off) / 60))}${pad(Math.abs(off) % 60)}`;
    }
    case "day":
      return date;
    case "week": {
      const iw = isoWeek(w.year, w.month, w.day);
      return `${pad(iw.year, 4)}-W${pad(iw.week)}`;
    }
    case "month":
      return `${pad(w.year, 4)}-${pad(w.month)}`;
    case "year":
      return pad(w.year, 4);
  }
}

/**
 * Which of `count` equal wall-clock slots of its `period` the reading `w` falls in
 * (0-based). A week is split from Monday 00:00, a month by its own length in days. Slots are
 * fixed to the calendar, never to "now", so a snapshot's slot never changes over time.
 */
export function slotIndex(period: Period, count: number, w: WallClock): number {
  const at = wallMs(w);
  let start: number;
  let length: number;
  switch (period) {
    case "hour":
      start = Date.UTC(w.year, w.month - 1, w.day, w.hour);
      length = HOUR_MS;
      break;
    case "day":
      start = Date.UTC(w.year, w.month - 1, w.day);
      length = DAY_MS;
      break;
    case "week":
      start = Date.UTC(w.year, w.month - 1, w.day - (w.weekday - 1));
      length = 7 * DAY_MS;
      break;
    case "month":
      start = Date.UTC(w.year, w.month - 1, 1);
      length = Date.UTC(w.year, w.month, 1) - start;
      break;
    case "year":
      start = Date.UTC(w.year, 0, 1);
      length = Date.UTC(w.year + 1, 0, 1) - start;
      break;
  }
  return Math.min(count - 1, Math.floor(((at - start) * count) / length));
}
