const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** Parses an ISO 8601 basic timestamp `YYYYMMDDTHHMMSSZ` to epoch ms, or `undefined`. */
export function parseAmzDate(s: string): number | undefined {
  const m = AMZ_DATE.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) {
    return undefined;
  }
  return ms;
}

/** Formats epoch ms as `YYYYMMDDTHHMMSSZ`. */
export function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

/**
 * Parses an HTTP `Date` header (RFC 7231 IMF-fixdate, or the obsolete forms `Date.parse`
 * understands) to epoch ms, or `undefined`.
 */
export function parseHttpDate(s: string): number | undefined {
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}
