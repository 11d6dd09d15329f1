import { CofferError } from "../core/errors.ts";

/** A parsed 5-field cron expression (minute hour day-of-month month day-of-week). */
export interface Cron {
  source: string;
  minutes: number[];
  hours: number[];
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** Day-of-month / day-of-week given as `*` (cron's OR rule applies when both are restricted). */
  anyDay: boolean;
  anyWeekday: boolean;
}

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
] as const;

function field(text: string, i: number, expr: string): number[] {
  const f = FIELDS[i] ?? FIELDS[0];
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m)
      throw new CofferError(
        "BAD_INPUT",
        `Invalid cron ${JSON.stringify(expr)}: bad ${f.name} field ${JSON.stringify(text)}`,
      );
    const lo = m[1] === "*" ? f.min : Number(m[2]);
    const hi =
      m[1] === "*" ? f.max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? f.max : lo;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (lo < f.min || hi > f.max || lo > hi || step < 1) {
      throw new CofferError(
        "BAD_INPUT",
        `Invalid cron ${JSON.stringify(expr)}: ${f.name} ${JSON.stringify(part)} is out of range ${f.min}-${f.max}`,
      );
    }
    for (let v = lo; v <= hi; v += step) out.add(i === 4 && v === 7 ? 0 : v);
  }
  return [...out].sort((a, b) => a - b);
}

/** Parses `m h dom mon dow` with lists, ranges and steps (`0 0,12 * * *`, `*\/15 8-18 * * 1-5`). */
export function parseCron(expr: string): Cron {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5)
    throw new CofferError(
      "BAD_INPUT",
      `Invalid cron ${JSON.stringify(expr)}: expected 5 fields (minute hour day month weekday)`,
    );
  const f = parts.map((p, i) => field(p, i, expr));
  return {
    source: parts.join(" "),
    minutes: f[0] ?? [],
    hours: f[1] ?? [],
    days: new Set(f[2]),
    months: new Set(f[3]),
    weekdays: new Set(f[4]),
    anyDay: parts[2] === "*",
    anyWeekday: parts[4] === "*",
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Wall-clock fields of instant `ms` in `tz`. */
export function zonedParts(
  ms: number,
  tz: string,
): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const p: Record<string, number> = {};
  for (const x of formatter(tz).formatToParts(new Date(ms)))
    if (x.type !== "literal") p[x.type] = Number(x.value);
  return {
    year: p.year ?? 0,
    month: p.month ?? 1,
    day: p.day ?? 1,
    hour: p.hour ?? 0,
    minute: p.minute ?? 0,
    second: p.second ?? 0,
  };
}

/** UTC offset of `tz` at instant `ms`, in ms (wall clock − UTC). */
export function zoneOffset(ms: number, tz: string): number {
  const z = zonedParts(ms, tz);
  const wall = Date.UTC(z.year, z.month - 1, z.day, z.hour, z.minute, z.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

/** The instant of a wall-clock time in `tz` (a time skipped by DST maps past the gap). */
export function zonedToUtc(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  tz: string,
): number {
  const guess = Date.UTC(year, month - 1, day, hour, minute);
  const t1 = guess - zoneOffset(guess, tz);
  const t2 = guess - zoneOffset(t1, tz);
  // The offsets in force a day either side: in a repeated hour each gives one occurrence.
  const t3 = guess - zoneOffset(guess - 86_400_000, tz);
  const t4 = guess - zoneOffset(guess + 86_400_000, tz);
  const ok = [t1, t2, t3, t4].filter((t) => {
    const z = zonedParts(t, tz);
    return z.hour === hour && z.minute === minute && z.day === day;
  });
  // An ambiguous time (DST end) is its first occurrence; a skipped one (DST start) lies past the gap.
  return ok.length > 0 ? Math.min(...ok) : Math.max(t1, t2);
}

function dayMatches(c: Cron, y: number, m: number, d: number): boolean {
  if (!c.months.has(m)) return false;
  const dow = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  const dom = c.days.has(d);
  const wd = c.weekdays.has(dow);
  if (c.anyDay && c.anyWeekday) return true;
  if (c.anyDay) return wd;
  if (c.anyWeekday) return dom;
  return dom || wd;
}

const MAX_DAYS = 366 * 8;

/** The first slot strictly after `t` (ms), or `undefined` if none within 8 years. */
export function nextSlot(c: Cron, tz: string, t: number): number | undefined {
  const z = zonedParts(t, tz);
  for (let i = 0; i < MAX_DAYS; i++) {
    const day = new Date(Date.UTC(z.year, z.month - 1, z.day + i));
    const [y, m, d] = [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()];
    if (!dayMatches(c, y, m, d)) continue;
    for (const h of c.hours)
      for (const mi of c.minutes) {
        const at = zonedToUtc(y, m, d, h, mi, tz);
        if (at > t) return at;
      }
  }
  return undefined;
}

/** The last slot at or before `t` (ms), or `undefined` if none within 8 years. */
export function prevSlot(c: Cron, tz: string, t: number): number | undefined {
  const z = zonedParts(t, tz);
  const hours = [...c.hours].reverse();
  const minutes = [...c.minutes].reverse();
  for (let i = 0; i < MAX_DAYS; i++) {
    const day = new Date(Date.UTC(z.year, z.month - 1, z.day - i));
    const [y, m, d] = [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()];
    if (!dayMatches(c, y, m, d)) continue;
    for (const h of hours)
      for (const mi of minutes) {
        const at = zonedToUtc(y, m, d, h, mi, tz);
        if (at <= t) return at;
      }
  }
  return undefined;
}

/** `2026-03-02 12:00 +01:00 (Europe/Paris)`: a time as the source's operators read it. */
export function formatInZone(ms: number, tz: string): string {
  const z = zonedParts(ms, tz);
  const off = Math.round(zoneOffset(ms, tz) / 60_000);
  const sign = off < 0 ? "-" : "+";
  const p2 = (n: number): string => String(n).padStart(2, "0");
  return `${z.year}-${p2(z.month)}-${p2(z.day)} ${p2(z.hour)}:${p2(z.minute)} ${sign}${p2(Math.floor(Math.abs(off) / 60))}:${p2(Math.abs(off) % 60)} (${tz})`;
}
