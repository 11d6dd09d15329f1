import { CofferError } from "../core/errors.ts";

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Formats nanoseconds since the epoch as RFC 3339 UTC with 9 fractional digits. */
export function formatTimeNs(ns: bigint): string {
  const ms = ns / 1_000_000n - (ns % 1_000_000n < 0n ? 1n : 0n);
  const frac = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // yyyy-mm-ddThh:mm:ss.mmmZ
  return `${iso.slice(0, 19)}.${frac.toString().padStart(9, "0")}Z`;
}

/** Milliseconds (from a Clock) as an RFC 3339 nanosecond timestamp. */
export function formatTimeMs(ms: number): string {
  return formatTimeNs(BigInt(Math.trunc(ms)) * 1_000_000n);
}

/** True when `s` is an RFC 3339 timestamp this format accepts. */
export function isRfc3339(s: string): boolean {
  return parseTimeNsOrUndefined(s) !== undefined;
}

/**
 * Parses an RFC 3339 timestamp (up to 9 fractional digits, `Z` or ±hh:mm) to nanoseconds.
 * @throws CofferError BAD_INPUT.
 */
export function parseTimeNs(s: string): bigint {
  const v = parseTimeNsOrUndefined(s);
  if (v === undefined)
    throw new CofferError("BAD_INPUT", `Invalid timestamp ${JSON.stringify(s.slice(0, 64))}`);
  return v;
}

function parseTimeNsOrUndefined(s: string): bigint | undefined {
  const m = RFC3339.exec(s);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, se, frac, zone] = m;
  const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se));
  const check = new Date(base);
  if (
    !Number.isFinite(base) ||
    check.getUTCDate() !== Number(d) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(se) > 59
  ) {
    return undefined;
  }
  let offsetMin = 0;
  if (zone !== undefined && zone !== "Z") {
    offsetMin =
      (zone.startsWith("-") ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  }
  return (
    (BigInt(base) - BigInt(offsetMin) * 60_000n) * 1_000_000n + BigInt((frac ?? "").padEnd(9, "0"))
  );
}
