import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parse as parseYaml } from "yaml";
import { CofferError } from "../core/errors.ts";
import { type AlertsConfig, DEFAULT_ALERTS, parseAlertsConfig } from "./alerts/alerts-config.ts";
import {
  type AuditConfig,
  checkAuditRetention,
  DEFAULT_AUDIT,
  parseAuditConfig,
} from "./audit/audit-config.ts";
import { DEFAULT_RETENTION_FLOOR, type RetentionFloor } from "./retention/floor.ts";

/** TLS settings: a certificate/key pair on disk, or a self-signed one made on first run. */
export interface TlsConfig {
  /** PEM certificate chain path. */
  cert?: string;
  /** PEM private key path. */
  key?: string;
  /** Generate `<dataDir>/tls/cert.pem` + `key.pem` on first run when no cert is given. */
  selfSigned: boolean;
}

/** The gateway's configuration, after defaults and command-line overrides. */
export interface ServerConfig {
  /** Where metadata, the master key, objects, staging files and TLS material live. */
  dataDir: string;
  /** Listen address. */
  host: string;
  port: number;
  /** Serve plain HTTP instead of HTTPS. */
  http: boolean;
  /** Permit plain HTTP on a non-loopback address. */
  allowInsecureHttp: boolean;
  tls: TlsConfig;
  /** The region reported by GetBucketLocation and expected in signatures. */
  region: string;
  /** Server-wide minimum deletion delay in milliseconds (default 14 days). */
  minDeletionDelayMs: number;
  /** Default scratch prefixes for new sources (deleted at once). */
  scratchPrefixes: string[];
  /** Public base URL printed by `source add` (e.g. `https://backup.example.com:8443`). */
  publicUrl?: string;
  /** Largest object accepted by a single PUT or a multipart completion, in bytes. */
  maxObjectBytes: number;
  /** Allowed clock skew of signed requests in milliseconds (±15 min). */
  clockSkewMs: number;
  /** A request body with no byte for this long (ms) is refused with 400 RequestTimeout. */
  bodyTimeoutMs: number;
  /** Open connections allowed from one client address; more are closed at once. */
  maxConnectionsPerClient: number;
  /** The audit log (src/server/audit). */
  audit: AuditConfig;
  /** Alerts: expectations are in the database, channels and thresholds here (src/server/alerts). */
  alerts: AlertsConfig;
  /** How often `start` runs retention, GC and the deletion executor, in ms (default 10 min). */
  maintenanceIntervalMs: number;
  /** The floor under every retention policy (`retention.floor`; src/server/retention/floor.ts). */
  retentionFloor: RetentionFloor;
}

/** The shortest accepted `maintenance.interval` (each pass reads every source's manifests). */
export const MIN_MAINTENANCE_INTERVAL_MS = 1000;

/** Values given on the command line; they win over the file. */
export interface ConfigOverrides {
  dataDir?: string;
  listen?: string;
  http?: boolean;
}

const DAY = 24 * 3600 * 1000;

/** The embedded defaults; a config file only needs to state what differs. */
export const DEFAULT_CONFIG: ServerConfig = {
  dataDir: process.env.COFFER_SERVER_DATA_DIR ?? "/var/lib/coffer-server",
  host: "0.0.0.0",
  port: 8443,
  http: false,
  allowInsecureHttp: false,
  tls: { selfSigned: true },
  region: "us-east-1",
  minDeletionDelayMs: 14 * DAY,
  scratchPrefixes: ["locks/"],
  maxObjectBytes: 5 * 1024 * 1024 * 1024,
  clockSkewMs: 15 * 60 * 1000,
  bodyTimeoutMs: 60_000,
  maxConnectionsPerClient: 64,
  audit: DEFAULT_AUDIT,
  alerts: DEFAULT_ALERTS,
  maintenanceIntervalMs: 10 * 60 * 1000,
  retentionFloor: DEFAULT_RETENTION_FLOOR,
};

function bad(file: string, what: string): CofferError {
  return new CofferError("CONFIG", `Invalid config ${file}: ${what}`);
}

/** Parses a duration like `14d`, `36h`, `90m`, `30s` or a number of seconds. */
export function parseDuration(value: unknown, what: string, file = "(command line)"): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value * 1000;
  if (typeof value === "string") {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/.exec(value.trim());
    if (m) {
      const n = Number(m[1]);
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY, w: 7 * DAY }[
        (m[2] ?? "s") as "ms" | "s" | "m" | "h" | "d" | "w"
      ];
      return n * unit;
    }
  }
  throw bad(file, `${what} must be a duration like "14d" or "36h", got ${JSON.stringify(value)}`);
}

/** Splits `HOST:PORT` (IPv6 as `[::1]:8443`). */
export function parseListen(
  listen: string,
  file = "(command line)",
): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || host === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw bad(file, `listen must be HOST:PORT, got ${JSON.stringify(listen)}`);
  }
  return { host: host === "" ? "0.0.0.0" : host, port };
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  return isIP(host) === 4 && host.startsWith("127.");
}

const KNOWN = new Set([
  "dataDir",
  "listen",
  "http",
  "allowInsecureHttp",
  "tls",
  "region",
  "minDeletionDelay",
  "scratchPrefixes",
  "publicUrl",
  "maxObjectSize",
  "clockSkew",
  "bodyTimeout",
  "maxConnectionsPerClient",
  "audit",
  "alerts",
  "maintenance",
  "retention",
]);

function str(file: string, v: unknown, what: string): string {
  if (typeof v !== "string" || v === "") throw bad(file, `${what} must be a non-empty string`);
  return v;
}

function bool(file: string, v: unknown, what: string): boolean {
  if (typeof v !== "boolean") throw bad(file, `${what} must be true or false`);
  return v;
}

/** `maintenance: { interval: 10m }` → the interval in ms (at least 1s). */
function parseMaintenance(v: unknown, file: string): number {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw bad(file, "maintenance must be a mapping");
  const m = v as Record<string, unknown>;
  for (const k of Object.keys(m))
    if (k !== "interval") throw bad(file, `unknown field "maintenance.${k}"`);
  if (m.interval === undefined) return DEFAULT_CONFIG.maintenanceIntervalMs;
  const ms = parseDuration(m.interval, "maintenance.interval", file);
  if (ms < MIN_MAINTENANCE_INTERVAL_MS)
    throw bad(file, `maintenance.interval must be at least 1s, got ${JSON.stringify(m.interval)}`);
  return ms;
}

/** `retention: { floor: { minAge: 7d, days: 7 } }` → the floor (0 and 0 turn it off). */
function parseRetention(v: unknown, file: string): RetentionFloor {
  const mapping = (x: unknown, what: string): Record<string, unknown> => {
    if (typeof x !== "object" || x === null || Array.isArray(x))
      throw bad(file, `${what} must be a mapping`);
    return x as Record<string, unknown>;
  };
  const r = mapping(v, "retention");
  for (const k of Object.keys(r))
    if (k !== "floor") throw bad(file, `unknown field "retention.${k}"`);
  const floor = { ...DEFAULT_RETENTION_FLOOR };
  if (r.floor === undefined) return floor;
  const f = mapping(r.floor, "retention.floor");
  for (const k of Object.keys(f))
    if (k !== "minAge" && k !== "days") throw bad(file, `unknown field "retention.floor.${k}"`);
  if (f.minAge !== undefined)
    floor.minAgeMs = parseDuration(f.minAge, "retention.floor.minAge", file);
  if (f.days !== undefined) {
    if (typeof f.days !== "number" || !Number.isInteger(f.days) || f.days < 0 || f.days > 366)
      throw bad(
        file,
        `retention.floor.days must be a whole number of days from 0 to 366, got ${JSON.stringify(f.days)}`,
      );
    floor.days = f.days;
  }
  return floor;
}

/** Applies a parsed YAML document onto the defaults, refusing unknown or mistyped fields. */
export function applyConfigDocument(
  doc: unknown,
  file: string,
  base = DEFAULT_CONFIG,
): ServerConfig {
  const cfg: ServerConfig = {
    ...base,
    tls: { ...base.tls },
    scratchPrefixes: [...base.scratchPrefixes],
  };
  if (doc === null || doc === undefined) return cfg;
  if (typeof doc !== "object" || Array.isArray(doc))
    throw bad(file, "the top level must be a mapping");
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (!KNOWN.has(k)) throw bad(file, `unknown field "${k}"`);
  if (d.dataDir !== undefined) cfg.dataDir = str(file, d.dataDir, "dataDir");
  if (d.listen !== undefined) Object.assign(cfg, parseListen(str(file, d.listen, "listen"), file));
  if (d.http !== undefined) cfg.http = bool(file, d.http, "http");
  if (d.allowInsecureHttp !== undefined)
    cfg.allowInsecureHttp = bool(file, d.allowInsecureHttp, "allowInsecureHttp");
  if (d.region !== undefined) cfg.region = str(file, d.region, "region");
  if (d.publicUrl !== undefined)
    cfg.publicUrl = str(file, d.publicUrl, "publicUrl").replace(/\/+$/, "");
  if (d.minDeletionDelay !== undefined) {
    cfg.minDeletionDelayMs = parseDuration(d.minDeletionDelay, "minDeletionDelay", file);
  }
  if (d.audit !== undefined) cfg.audit = parseAuditConfig(d.audit, file, parseDuration);
  if (d.alerts !== undefined) cfg.alerts = parseAlertsConfig(d.alerts, file, parseDuration);
  if (d.maintenance !== undefined)
    cfg.maintenanceIntervalMs = parseMaintenance(d.maintenance, file);
  if (d.retention !== undefined) cfg.retentionFloor = parseRetention(d.retention, file);
  if (d.clockSkew !== undefined) cfg.clockSkewMs = parseDuration(d.clockSkew, "clockSkew", file);
  if (d.bodyTimeout !== undefined) {
    cfg.bodyTimeoutMs = parseDuration(d.bodyTimeout, "bodyTimeout", file);
    if (cfg.bodyTimeoutMs < 100) throw bad(file, "bodyTimeout must be at least 100ms");
  }
  if (d.maxConnectionsPerClient !== undefined) {
    const n = d.maxConnectionsPerClient;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1)
      throw bad(file, "maxConnectionsPerClient must be a positive whole number");
    cfg.maxConnectionsPerClient = n;
  }
  if (d.maxObjectSize !== undefined) {
    if (
      typeof d.maxObjectSize !== "number" ||
      !Number.isSafeInteger(d.maxObjectSize) ||
      d.maxObjectSize <= 0
    ) {
      throw bad(file, "maxObjectSize must be a positive number of bytes");
    }
    cfg.maxObjectBytes = d.maxObjectSize;
  }
  if (d.scratchPrefixes !== undefined) {
    const p = d.scratchPrefixes;
    if (
      !Array.isArray(p) ||
      !p.every((x): x is string => typeof x === "string" && x.endsWith("/") && x.length > 1)
    ) {
      throw bad(file, 'scratchPrefixes must be a list of prefixes ending in "/"');
    }
    cfg.scratchPrefixes = p;
  }
  if (d.tls !== undefined) {
    if (typeof d.tls !== "object" || d.tls === null || Array.isArray(d.tls))
      throw bad(file, "tls must be a mapping");
    const t = d.tls as Record<string, unknown>;
    for (const k of Object.keys(t)) {
      if (!["cert", "key", "selfSigned"].includes(k)) throw bad(file, `unknown field "tls.${k}"`);
    }
    if (t.cert !== undefined) cfg.tls.cert = str(file, t.cert, "tls.cert");
    if (t.key !== undefined) cfg.tls.key = str(file, t.key, "tls.key");
    if (t.selfSigned !== undefined) cfg.tls.selfSigned = bool(file, t.selfSigned, "tls.selfSigned");
    if ((cfg.tls.cert === undefined) !== (cfg.tls.key === undefined)) {
      throw bad(file, "tls.cert and tls.key must be given together");
    }
    if (cfg.tls.cert !== undefined && t.selfSigned === undefined) cfg.tls.selfSigned = false;
  }
  return cfg;
}

/** Checks cross-field rules (plain HTTP only on loopback unless explicitly allowed). */
export function validateConfig(cfg: ServerConfig): ServerConfig {
  if (cfg.http && !isLoopback(cfg.host) && !cfg.allowInsecureHttp) {
    throw new CofferError(
      "CONFIG",
      `Refusing plain HTTP on ${cfg.host}: use a loopback address or set allowInsecureHttp: true`,
    );
  }
  checkAuditRetention(cfg.audit.retentionMs, cfg.minDeletionDelayMs, "minDeletionDelay");
  if (!cfg.http && cfg.tls.cert === undefined && !cfg.tls.selfSigned) {
    throw new CofferError(
      "CONFIG",
      "No TLS certificate: set tls.cert and tls.key, or tls.selfSigned: true",
    );
  }
  return cfg;
}

/** Loads the YAML file (if any), applies defaults and overrides, and validates the result. */
export function loadConfig(
  file: string | undefined,
  overrides: ConfigOverrides = {},
): ServerConfig {
  let cfg = DEFAULT_CONFIG;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new CofferError("CONFIG", `Cannot read config ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      const msg = (err as Error).message.split("\n")[0] ?? "";
      throw new CofferError("CONFIG", `Invalid config ${file}: ${msg}`, { cause: err });
    }
    cfg = applyConfigDocument(doc, file);
  } else {
    cfg = applyConfigDocument(undefined, "(defaults)");
  }
  if (overrides.dataDir !== undefined) cfg.dataDir = overrides.dataDir;
  if (overrides.listen !== undefined) Object.assign(cfg, parseListen(overrides.listen));
  if (overrides.http !== undefined) cfg.http = overrides.http;
  return validateConfig(cfg);
}
