import { CofferError } from "../../core/errors.ts";

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/;
const ZONED =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):?(\d{2}))$/i;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Parses `backup --time`: `"YYYY-MM-DD HH:MM[:SS]"` or `"YYYY-MM-DD"` in local time (a `T`
 * may replace the space), or an ISO 8601 date-time with `Z` or an offset
 * (`2026-01-31T23:00:00.5+01:00`). Everything else, and dates that do not exist (Feb 30,
 * hour 24), is refused with one line (`BAD_INPUT`) instead of being rolled over.
 */
export function parseTime(s: string): Date {
  const text = s.trim();
  const zoned = ZONED.exec(text);
  const m = zoned ?? LOCAL.exec(text);
  if (m === null)
    throw new CofferError(
      "BAD_INPUT",
      `Cannot parse --time "${s}": use "YYYY-MM-DD HH:MM:SS" (local time) or ISO 8601 like 2026-01-31T23:00:00Z`,
    );
  const [y, mo, d, h, mi, sec] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const offH = Number(zoned?.[10] ?? 0);
  const offM = Number(zoned?.[11] ?? 0);
  if (
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    d > daysIn(y, mo) ||
    h > 23 ||
    mi > 59 ||
    sec > 59 ||
    offH > 23 ||
    offM > 59
  )
    throw new CofferError("BAD_INPUT", `Cannot parse --time "${s}": no such date or time`);
  if (zoned === null) return new Date(y, mo - 1, d, h, mi, sec);
  const ms = Number(((zoned[7] ?? "") + "000").slice(0, 3));
  const offset = (zoned[9] === "-" ? -1 : 1) * (offH * 60 + offM) * 60_000;
  return new Date(Date.UTC(y, mo - 1, d, h, mi, sec, ms) - offset);
}
