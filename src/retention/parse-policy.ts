import { CofferError } from "../core/errors.ts";
import type { Period } from "./calendar.ts";
import { parseDuration, type Duration } from "./duration.ts";
import {
  COUNT_RULES,
  WITHIN_RULES,
  isEmptyRules,
  type GroupBy,
  type GroupMatch,
  type GroupPolicy,
  type KeepRules,
  type RetentionPolicy,
  type Tier,
  type TierKeep,
} from "./policy.ts";
import { PRESETS, isPresetName } from "./presets.ts";

const PERIODS: readonly Period[] = ["hour", "day", "week", "month", "year"];
const RULE_KEYS = new Set<string>([
  "keepLast",
  ...COUNT_RULES.map(([k]) => k),
  "keepWithin",
  ...WITHIN_RULES.map(([k]) => k),
  "keepTags",
  "tiers",
  "preset",
]);

function bad(message: string): CofferError {
  return new CofferError("BAD_INPUT", `Invalid retention policy: ${message}`);
}

function show(v: unknown): string {
  return typeof v === "string" ? `"${v}"` : v === undefined ? "nothing" : JSON.stringify(v);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function count(v: unknown, at: string): number {
  if (v === "unlimited" || v === -1 || v === "-1") return Infinity;
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw bad(`${at} must be a non-negative integer or "unlimited", got ${show(v)}`);
  }
  return n;
}

function dur(v: unknown, at: string): Duration {
  if (typeof v !== "string") throw bad(`${at} must be a duration like "7d", got ${show(v)}`);
  try {
    return parseDuration(v, at);
  } catch (err) {
    throw bad(err instanceof Error ? err.message.replace(/^Invalid /, "") : String(err));
  }
}

function list(v: unknown, at: string): string[] {
  const items = typeof v === "string" ? [v] : v;
  if (!Array.isArray(items) || !items.every((x) => typeof x === "string")) {
    throw bad(`${at} must be a string or a list of strings, got ${show(v)}`);
  }
  return items;
}

/** Parses a tier's keep: `"all"`, `"3/week"` or `{ count: 3, per: "week" }`. */
export function parseTierKeep(v: unknown, at = "keep"): TierKeep {
  if (v === "all") return "all";
  let c: unknown;
  let per: unknown;
  if (typeof v === "string") {
    const m = /^(\d+)\/(\w+)$/.exec(v.trim());
    c = m?.[1] === undefined ? undefined : Number(m[1]);
    per = m?.[2];
  } else if (isRecord(v)) {
    c = v.count;
    per = v.per;
  }
  if (typeof c !== "number" || !Number.isSafeInteger(c) || c < 1 || c > 1000) {
    throw bad(
      `${at} must be "all", "N/period" or {count, per} with 1 <= N <= 1000, got ${show(v)}`,
    );
  }
  if (!PERIODS.includes(per as Period)) {
    throw bad(`${at} period must be one of ${PERIODS.join(", ")}, got ${show(per)}`);
  }
  return { count: c, per: per as Period };
}

/** Parses a tier: `{ for: "3w", keep: "3/week" }`, `{ until: "90d", keep: … }` or `"3w:3/week"`. */
export function parseTier(v: unknown, at = "tier"): Tier {
  if (typeof v === "string") {
    const i = v.indexOf(":");
    if (i < 0) throw bad(`${at} must look like "3w:3/week", got ${show(v)}`);
    return {
      for: dur(v.slice(0, i), `${at} duration`),
      keep: parseTierKeep(v.slice(i + 1), `${at} keep`),
    };
  }
  if (!isRecord(v)) throw bad(`${at} must be an object or "DURATION:KEEP", got ${show(v)}`);
  for (const k of Object.keys(v)) {
    if (k !== "for" && k !== "until" && k !== "keep") throw bad(`${at} has unknown key "${k}"`);
  }
  const keep = parseTierKeep(v.keep, `${at}.keep`);
  if ((v.for === undefined) === (v.until === undefined)) {
    throw bad(`${at} needs exactly one of "for" and "until"`);
  }
  return v.for !== undefined
    ? { for: dur(v.for, `${at}.for`), keep }
    : { until: dur(v.until, `${at}.until`), keep };
}

/** Parses the keep rules of a YAML/JSON object; a `preset` gives defaults the other keys override. */
export function parseKeepRules(v: Record<string, unknown>, at = ""): KeepRules {
  const p = (k: string): string => (at === "" ? k : `${at}.${k}`);
  let rules: Record<string, unknown> = {};
  if (v.preset !== undefined) {
    if (typeof v.preset !== "string" || !isPresetName(v.preset)) {
      throw bad(
        `${p("preset")}: unknown preset ${show(v.preset)} (known: ${Object.keys(PRESETS).join(", ")})`,
      );
    }
    rules = { ...PRESETS[v.preset] };
  }
  if (v.keepLast !== undefined) rules.keepLast = count(v.keepLast, p("keepLast"));
  for (const [k] of COUNT_RULES) if (v[k] !== undefined) rules[k] = count(v[k], p(k));
  if (v.keepWithin !== undefined) rules.keepWithin = dur(v.keepWithin, p("keepWithin"));
  for (const [k] of WITHIN_RULES) if (v[k] !== undefined) rules[k] = dur(v[k], p(k));
  if (v.keepTags !== undefined) {
    rules.keepTags = list(v.keepTags, p("keepTags")).map((s) =>
      s
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean),
    );
  }
  if (v.tiers !== undefined) {
    if (!Array.isArray(v.tiers) || v.tiers.length === 0)
      throw bad(`${p("tiers")} must be a non-empty list`);
    rules.tiers = v.tiers.map((t, i) => parseTier(t, `${p("tiers")}[${i}]`));
  }
  return rules;
}

function parseGroupBy(v: unknown): GroupBy[] {
  const items =
    typeof v === "string"
      ? v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : list(v, "groupBy");
  return items.map((s) => {
    if (s === "host" || s === "tags" || s === "paths") return s;
    const pattern = s.startsWith("tag:") ? s.slice(4) : s.includes("*") ? s : "";
    if (pattern === "")
      throw bad(`groupBy must be host, tags, paths or tag:PATTERN (e.g. tag:db:*), got ${show(s)}`);
    return { tagPattern: pattern };
  });
}

function parseMatch(v: unknown, at: string): GroupMatch {
  if (!isRecord(v)) throw bad(`${at} must be an object with host, tags or tagPrefix`);
  const out: { host?: string; tags?: string[]; tagPrefix?: string } = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === "host" && typeof x === "string") out.host = x;
    else if (k === "tags") out.tags = list(x, `${at}.tags`);
    else if (k === "tagPrefix" && typeof x === "string") out.tagPrefix = x;
    else throw bad(`${at} has an unknown or invalid key "${k}"`);
  }
  if (Object.keys(out).length === 0) throw bad(`${at} is empty: give host, tags or tagPrefix`);
  return out;
}

function checkKeys(v: Record<string, unknown>, extra: readonly string[], at: string): void {
  for (const k of Object.keys(v)) {
    if (!RULE_KEYS.has(k) && !extra.includes(k)) throw bad(`${at}unknown key "${k}"`);
  }
}

/**
 * Parses a policy from a YAML/JSON object:
 * `{ preset?, keepLast?, keepDaily?, …, keepWithin?: "7d", keepTags?, tiers?: [...],
 *    groupBy?: "host,tags" | [...], groups?: [{ name?, match: {host?, tags?, tagPrefix?}, preset?, keep… }] }`.
 * Throws `BAD_INPUT` with a one-line message for unknown keys, bad values, or a policy with
 * no keep rule at all (forgetting needs an explicit policy). `groupBy` defaults to host,paths.
 */
export function parsePolicy(v: unknown): RetentionPolicy {
  if (!isRecord(v)) throw bad(`expected an object, got ${show(v)}`);
  checkKeys(v, ["groupBy", "groups"], "");
  const rules = parseKeepRules(v);
  let groups: GroupPolicy[] = [];
  if (v.groups !== undefined) {
    if (!Array.isArray(v.groups)) throw bad("groups must be a list");
    groups = v.groups.map((g, i): GroupPolicy => {
      const at = `groups[${i}]`;
      if (!isRecord(g)) throw bad(`${at} must be an object`);
      checkKeys(g, ["match", "name"], `${at}: `);
      const r = parseKeepRules(g, at);
      if (isEmptyRules(r)) throw bad(`${at} has no keep rule`);
      const name = g.name === undefined ? at : g.name;
      if (typeof name !== "string" || name === "default")
        throw bad(`${at}.name must be a string other than "default"`);
      return { name, match: parseMatch(g.match, `${at}.match`), rules: r };
    });
  }
  if (isEmptyRules(rules) && groups.length === 0) {
    throw bad(
      "no keep rule given (use keep-* rules, tiers or a preset); refusing to forget everything",
    );
  }
  return {
    groupBy: v.groupBy === undefined ? ["host", "paths"] : parseGroupBy(v.groupBy),
    rules,
    groups,
  };
}

/** CLI policy flag → policy-document key (`keep-daily` → `keepDaily`). */
export const FLAG_KEYS: Readonly<Record<string, string>> = {
  preset: "preset",
  "group-by": "groupBy",
  "keep-last": "keepLast",
  "keep-hourly": "keepHourly",
  "keep-daily": "keepDaily",
  "keep-weekly": "keepWeekly",
  "keep-monthly": "keepMonthly",
  "keep-yearly": "keepYearly",
  "keep-within": "keepWithin",
  "keep-within-hourly": "keepWithinHourly",
  "keep-within-daily": "keepWithinDaily",
  "keep-within-weekly": "keepWithinWeekly",
  "keep-within-monthly": "keepWithinMonthly",
  "keep-within-yearly": "keepWithinYearly",
  "keep-tag": "keepTags",
  tier: "tiers",
};

/**
 * Parses a policy from CLI flags (names without dashes, values as strings; repeatable flags
 * as arrays): `{ "keep-daily": "7", "keep-tag": ["a,b"], tier: ["7d:all", "3w:3/week"],
 * "group-by": "host,tags", preset: "degressive" }`. Same errors as {@link parsePolicy}, with
 * flag names.
 */
export function parsePolicyFlags(
  flags: Readonly<Record<string, string | readonly string[] | undefined>>,
): RetentionPolicy {
  const obj: Record<string, unknown> = {};
  for (const [flag, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    const key = FLAG_KEYS[flag];
    if (key === undefined) throw bad(`unknown flag --${flag}`);
    const repeatable = key === "keepTags" || key === "tiers";
    if (!repeatable && typeof value !== "string") throw bad(`--${flag} given more than once`);
    obj[key] = repeatable ? (typeof value === "string" ? [value] : [...value]) : value;
  }
  try {
    return parsePolicy(obj);
  } catch (err) {
    if (!(err instanceof CofferError)) throw err;
    let message = err.message;
    const byLength = Object.entries(FLAG_KEYS).sort((a, b) => b[1].length - a[1].length);
    for (const [flag, key] of byLength) {
      message = message.replace(new RegExp(`\\b${key}\\b(?!\\.)`, "g"), `--${flag}`);
    }
    throw new CofferError("BAD_INPUT", message, { cause: err });
  }
}
