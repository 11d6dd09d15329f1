import { CofferError } from "../../core/errors.ts";

/** `audit:` in the server YAML. */
export interface AuditConfig {
  /** Record every request and admin action (default true; off only for benchmarks). */
  enabled: boolean;
  /** Keep entries this long (ms); never shorter than the longest deletion delay. */
  retentionMs: number;
  /** Anchor the chain head into storage this often (ms), and at shutdown. */
  anchorIntervalMs: number;
  /**
   * Also anchor as soon as this many entries were appended since the last anchor (0: off).
   * Bounds how many newest entries can be deleted undetected (see ADR 0006).
   */
  anchorEvery: number;
  /**
   * Anchor at most this long (ms) after any new entry (default 1 minute): entries written
   * after the last anchor are the ones that can be cut without detection.
   */
  anchorDelayMs: number;
}

const DAY = 86_400_000;

/** Defaults: on, 400 days, hourly anchors. */
export const DEFAULT_AUDIT: AuditConfig = {
  enabled: true,
  retentionMs: 400 * DAY,
  anchorIntervalMs: 3_600_000,
  anchorEvery: 0,
  anchorDelayMs: 60_000,
};

/** Parses `audit:`; `duration` is config.ts's duration parser. */
export function parseAuditConfig(
  v: unknown,
  file: string,
  duration: (v: unknown, what: string, file: string) => number,
): AuditConfig {
  const out = { ...DEFAULT_AUDIT };
  if (v === undefined || v === null) return out;
  if (typeof v !== "object" || Array.isArray(v))
    throw new CofferError("CONFIG", `Invalid config ${file}: audit must be a mapping`);
  const d = v as Record<string, unknown>;
  for (const k of Object.keys(d)) {
    if (!["enabled", "retention", "anchorInterval", "anchorEvery", "anchorDelay"].includes(k))
      throw new CofferError("CONFIG", `Invalid config ${file}: unknown field "audit.${k}"`);
  }
  if (d.enabled !== undefined) {
    if (typeof d.enabled !== "boolean")
      throw new CofferError(
        "CONFIG",
        `Invalid config ${file}: audit.enabled must be true or false`,
      );
    out.enabled = d.enabled;
  }
  if (d.retention !== undefined) out.retentionMs = duration(d.retention, "audit.retention", file);
  if (d.anchorInterval !== undefined) {
    out.anchorIntervalMs = duration(d.anchorInterval, "audit.anchorInterval", file);
    if (out.anchorIntervalMs < 1000)
      throw new CofferError(
        "CONFIG",
        `Invalid config ${file}: audit.anchorInterval must be at least 1s`,
      );
  }
  if (d.anchorDelay !== undefined) {
    out.anchorDelayMs = duration(d.anchorDelay, "audit.anchorDelay", file);
    if (out.anchorDelayMs > 60_000)
      throw new CofferError(
        "CONFIG",
        `Invalid config ${file}: audit.anchorDelay must be at most 1m (entries after the last anchor are unprotected)`,
      );
  }
  if (d.anchorEvery !== undefined) {
    if (
      typeof d.anchorEvery !== "number" ||
      !Number.isSafeInteger(d.anchorEvery) ||
      d.anchorEvery < 0
    ) {
      throw new CofferError(
        "CONFIG",
        `Invalid config ${file}: audit.anchorEvery must be a number of entries (0: off)`,
      );
    }
    out.anchorEvery = d.anchorEvery;
  }
  return out;
}

/**
 * Refuses an audit retention shorter than the longest deletion delay (the server minimum and
 * every source's own delay): the log must outlive every pending deletion it explains.
 */
export function checkAuditRetention(
  retentionMs: number,
  longestDelayMs: number,
  what = "the longest deletion delay",
): void {
  if (retentionMs < longestDelayMs) {
    throw new CofferError(
      "CONFIG",
      `audit.retention (${retentionMs / DAY}d) is shorter than ${what} (${longestDelayMs / DAY}d): audit entries must outlive every pending deletion`,
    );
  }
}
