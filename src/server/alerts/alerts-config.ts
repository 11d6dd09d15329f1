import { readFileSync } from "node:fs";
import { CofferError } from "../../core/errors.ts";

/** SMTP channel (nodemailer). */
export interface SmtpConfig {
  host: string;
  port: number;
  /** Implicit TLS (port 465 style). */
  secure: boolean;
  /** Require STARTTLS on a plain connection. */
  starttls: boolean;
  /** Verify the server certificate (default true). */
  rejectUnauthorized: boolean;
  /** PEM CA certificate(s) to verify the server against (`ca:` is a file path in the YAML). */
  ca?: string;
  user?: string;
  pass?: string;
  from: string;
  to: string[];
}

/** A webhook: JSON POST, optionally signed (`x-coffer-signature: sha256=<hex HMAC>`). */
export interface WebhookConfig {
  url: string;
  secret?: string;
}

/** Per-source alert settings. */
export interface SourceAlertConfig {
  to?: string[];
  from?: string;
  /** Storage quota in bytes (quota alerts). */
  quota?: number;
}

/** When an expectation goes from late to down. */
export type DownAfter = { slots: number } | { ms: number };

/** `alerts:` in the server YAML. */
export interface AlertsConfig {
  checkIntervalMs: number;
  reminderMs: number;
  downAfter: DownAfter;
  /** Time zone for messages of sources without a cron expectation. */
  timeZone: string;
  anomaly: { changedRatio: number; sizeDrop: number };
  quotaWarnRatio: number;
  /** A burst alert fires above this many times a source's expected snapshots in 24 hours. */
  burstFactor: number;
  /** A retention pass filing more than this share of a source's snapshots raises an alert. */
  retentionShare: number;
  retry: { attempts: number; backoffMs: number };
  smtp?: SmtpConfig;
  webhooks: WebhookConfig[];
  sources: Record<string, SourceAlertConfig>;
}

/** Defaults: check each minute, remind daily, down after 3 missed slots. */
export const DEFAULT_ALERTS: AlertsConfig = {
  checkIntervalMs: 60_000,
  reminderMs: 86_400_000,
  downAfter: { slots: 3 },
  timeZone: "UTC",
  anomaly: { changedRatio: 0.8, sizeDrop: 0.5 },
  quotaWarnRatio: 0.9,
  burstFactor: 2,
  retentionShare: 0.5,
  retry: { attempts: 5, backoffMs: 60_000 },
  webhooks: [],
  sources: {},
};

type Duration = (v: unknown, what: string, file: string) => number;

function fail(file: string, what: string): CofferError {
  return new CofferError("CONFIG", `Invalid config ${file}: ${what}`);
}

function mapping(
  file: string,
  v: unknown,
  what: string,
  known: readonly string[],
): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw fail(file, `${what} must be a mapping`);
  const d = v as Record<string, unknown>;
  for (const k of Object.keys(d))
    if (!known.includes(k)) throw fail(file, `unknown field "${what}.${k}"`);
  return d;
}

function emails(file: string, v: unknown, what: string): string[] {
  const list = typeof v === "string" ? [v] : v;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((x): x is string => typeof x === "string" && /^[^\s@]+@[^\s@]+$/.test(x))
  ) {
    throw fail(file, `${what} must be an e-mail address or a list of them`);
  }
  return list;
}

function text(file: string, v: unknown, what: string): string {
  if (typeof v !== "string" || v === "") throw fail(file, `${what} must be a non-empty string`);
  return v;
}

function ratio(file: string, v: unknown, what: string): number {
  if (typeof v !== "number" || !(v > 0 && v <= 1))
    throw fail(file, `${what} must be a number in (0, 1]`);
  return v;
}

/** Checks that `tz` is an IANA time zone this Node knows. */
export function checkTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
  } catch {
    throw new CofferError(
      "BAD_INPUT",
      `Unknown time zone ${JSON.stringify(tz)}: use an IANA name like Europe/Paris`,
    );
  }
  return tz;
}

/** Parses `--down-after`/`alerts.downAfter`: a number of missed slots or a duration. */
export function parseDownAfter(v: unknown, duration: Duration, file: string): DownAfter {
  if (typeof v === "number" && Number.isInteger(v) && v >= 1) return { slots: v };
  if (typeof v === "string" && /^\d+$/.test(v) && Number(v) >= 1) return { slots: Number(v) };
  return { ms: duration(v, "downAfter", file) };
}

/** Parses `alerts:`. */
export function parseAlertsConfig(v: unknown, file: string, duration: Duration): AlertsConfig {
  const out: AlertsConfig = {
    ...DEFAULT_ALERTS,
    anomaly: { ...DEFAULT_ALERTS.anomaly },
    retry: { ...DEFAULT_ALERTS.retry },
    webhooks: [],
    sources: {},
  };
  if (v === undefined || v === null) return out;
  const d = mapping(file, v, "alerts", [
    "checkInterval",
    "reminder",
    "downAfter",
    "timeZone",
    "anomaly",
    "quotaWarn",
    "burst",
    "retentionShare",
    "retry",
    "smtp",
    "webhooks",
    "sources",
  ]);
  if (d.checkInterval !== undefined)
    out.checkIntervalMs = Math.max(1000, duration(d.checkInterval, "alerts.checkInterval", file));
  if (d.reminder !== undefined) out.reminderMs = duration(d.reminder, "alerts.reminder", file);
  if (d.downAfter !== undefined) out.downAfter = parseDownAfter(d.downAfter, duration, file);
  if (d.timeZone !== undefined) {
    if (typeof d.timeZone !== "string") throw fail(file, "alerts.timeZone must be a string");
    try {
      out.timeZone = checkTimeZone(d.timeZone);
    } catch (err) {
      throw fail(file, `alerts.timeZone: ${(err as Error).message}`);
    }
  }
  if (d.anomaly !== undefined) {
    const a = mapping(file, d.anomaly, "alerts.anomaly", ["changedFiles", "sizeDrop"]);
    if (a.changedFiles !== undefined)
      out.anomaly.changedRatio = ratio(file, a.changedFiles, "alerts.anomaly.changedFiles");
    if (a.sizeDrop !== undefined)
      out.anomaly.sizeDrop = ratio(file, a.sizeDrop, "alerts.anomaly.sizeDrop");
  }
  if (d.quotaWarn !== undefined) out.quotaWarnRatio = ratio(file, d.quotaWarn, "alerts.quotaWarn");
  if (d.retentionShare !== undefined)
    out.retentionShare = ratio(file, d.retentionShare, "alerts.retentionShare");
  if (d.burst !== undefined) {
    if (typeof d.burst !== "number" || !(d.burst >= 1) || !Number.isFinite(d.burst))
      throw fail(
        file,
        "alerts.burst must be a number of at least 1 (times the expected snapshots)",
      );
    out.burstFactor = d.burst;
  }
  if (d.retry !== undefined) {
    const r = mapping(file, d.retry, "alerts.retry", ["attempts", "backoff"]);
    if (r.attempts !== undefined) {
      if (typeof r.attempts !== "number" || !Number.isInteger(r.attempts) || r.attempts < 1)
        throw fail(file, "alerts.retry.attempts must be a positive integer");
      out.retry.attempts = r.attempts;
    }
    if (r.backoff !== undefined)
      out.retry.backoffMs = duration(r.backoff, "alerts.retry.backoff", file);
  }
  if (d.smtp !== undefined) {
    const s = mapping(file, d.smtp, "alerts.smtp", [
      "host",
      "port",
      "secure",
      "starttls",
      "rejectUnauthorized",
      "ca",
      "user",
      "pass",
      "from",
      "to",
    ]);
    if (typeof s.host !== "string" || s.host === "")
      throw fail(file, "alerts.smtp.host must be a host name");
    const port = s.port ?? (s.secure === true ? 465 : 587);
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)
      throw fail(file, "alerts.smtp.port must be a port number");
    for (const b of ["secure", "starttls", "rejectUnauthorized"]) {
      if (s[b] !== undefined && typeof s[b] !== "boolean")
        throw fail(file, `alerts.smtp.${b} must be true or false`);
    }
    if (typeof s.from !== "string") throw fail(file, "alerts.smtp.from must be an e-mail address");
    const smtp: SmtpConfig = {
      host: s.host,
      port,
      secure: s.secure === true,
      starttls: s.starttls === true,
      rejectUnauthorized: s.rejectUnauthorized !== false,
      from: s.from,
      to: emails(file, s.to, "alerts.smtp.to"),
    };
    if (s.secure === true && s.starttls === true)
      throw fail(file, "alerts.smtp: choose secure (implicit TLS) or starttls, not both");
    if (s.ca !== undefined) {
      const caFile = text(file, s.ca, "alerts.smtp.ca");
      try {
        smtp.ca = readFileSync(caFile, "utf8");
      } catch (err) {
        throw fail(
          file,
          `alerts.smtp.ca: cannot read ${caFile}: ${(err as Error).message.replace(/^\w+: /, "")}`,
        );
      }
      if (!smtp.ca.includes("-----BEGIN CERTIFICATE-----"))
        throw fail(file, `alerts.smtp.ca: ${caFile} is not a PEM certificate`);
    }
    if (s.user !== undefined) smtp.user = text(file, s.user, "alerts.smtp.user");
    if (s.pass !== undefined) smtp.pass = text(file, s.pass, "alerts.smtp.pass");
    out.smtp = smtp;
  }
  if (d.webhooks !== undefined) {
    if (!Array.isArray(d.webhooks)) throw fail(file, "alerts.webhooks must be a list");
    out.webhooks = d.webhooks.map((w, i) => {
      const m = mapping(file, w, `alerts.webhooks[${i}]`, ["url", "secret"]);
      if (typeof m.url !== "string" || !/^https?:\/\//.test(m.url))
        throw fail(file, `alerts.webhooks[${i}].url must be an http(s) URL`);
      const hook: WebhookConfig = { url: m.url };
      if (m.secret !== undefined)
        hook.secret = text(file, m.secret, `alerts.webhooks[${i}].secret`);
      return hook;
    });
  }
  if (d.sources !== undefined) {
    const srcs = mapping(file, d.sources, "alerts.sources", Object.keys(d.sources as object));
    for (const [name, sv] of Object.entries(srcs)) {
      const m = mapping(file, sv, `alerts.sources.${name}`, ["to", "from", "quota"]);
      const sc: SourceAlertConfig = {};
      if (m.to !== undefined) sc.to = emails(file, m.to, `alerts.sources.${name}.to`);
      if (m.from !== undefined) sc.from = text(file, m.from, `alerts.sources.${name}.from`);
      if (m.quota !== undefined) {
        if (typeof m.quota !== "number" || !Number.isSafeInteger(m.quota) || m.quota <= 0)
          throw fail(file, `alerts.sources.${name}.quota must be a positive number of bytes`);
        sc.quota = m.quota;
      }
      out.sources[name] = sc;
    }
  }
  return out;
}
