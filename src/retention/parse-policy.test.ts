import assert from "node:assert/strict";
import { test } from "node:test";
import { parse as parseYaml } from "yaml";
import { isCofferError } from "../core/errors.ts";
import { parsePolicy, parsePolicyFlags, parseTier } from "./parse-policy.ts";
import { PRESETS } from "./presets.ts";

const badInput = (f: () => unknown, message: string): void => {
  assert.throws(f, (e) => isCofferError(e, "BAD_INPUT") && e.message === message);
};

test("parsePolicy() reads a YAML policy with tiers, grouping and per-group rules", () => {
  const policy = parsePolicy(
    parseYaml(`
groupBy: host, tag:db:*
tiers:
  - { for: 7d, keep: all }
  - { for: 3w, keep: 3/week }
  - { for: 8w, keep: { count: 1, per: week } }
  - { until: 2y, keep: 1/month }
keepTags: [important, "legal,hold"]
groups:
  - name: databases
    match: { tagPrefix: "db:" }
    preset: twice-daily-7d
    keepMonthly: unlimited
`),
  );
  assert.deepEqual(policy.groupBy, ["host", { tagPattern: "db:*" }]);
  const tiers = policy.rules.tiers ?? [];
  assert.equal(tiers.length, 4);
  assert.deepEqual(tiers[1], {
    for: { years: 0, months: 0, days: 21, hours: 0, text: "21d" },
    keep: { count: 3, per: "week" },
  });
  assert.deepEqual(tiers[3]!.keep, { count: 1, per: "month" });
  assert.ok("until" in tiers[3]!);
  assert.deepEqual(policy.rules.keepTags, [["important"], ["legal", "hold"]]);
  const db = policy.groups[0]!;
  assert.equal(db.name, "databases");
  assert.deepEqual(db.match, { tagPrefix: "db:" });
  assert.equal(db.rules.keepWithin?.text, "7d");
  assert.equal(db.rules.keepMonthly, Infinity);
});

test("parsePolicy() expands presets and defaults groupBy to host,paths", () => {
  const p = parsePolicy({ preset: "degressive" });
  assert.deepEqual(p.rules, PRESETS.degressive);
  assert.deepEqual(p.groupBy, ["host", "paths"]);
});

test("parsePolicy() refuses bad input with one-line BAD_INPUT errors", () => {
  badInput(
    () => parsePolicy({}),
    "Invalid retention policy: no keep rule given (use keep-* rules, tiers or a preset); refusing to forget everything",
  );
  badInput(() => parsePolicy({ kepLast: 3 }), 'Invalid retention policy: unknown key "kepLast"');
  badInput(
    () => parsePolicy({ keepDaily: "seven" }),
    'Invalid retention policy: keepDaily must be a non-negative integer or "unlimited", got "seven"',
  );
  badInput(
    () => parsePolicy({ keepWithin: "7x" }),
    'Invalid retention policy: keepWithin "7x": expected a duration like 7d, 150h, 12m (months), 3w or 1y2m3d4h',
  );
  badInput(
    () => parsePolicy({ preset: "forever" }),
    'Invalid retention policy: preset: unknown preset "forever" (known: degressive, rolling-30d, twice-daily-7d, hourly-150h-daily-90d-monthly-12m, gfs-7d-4w-6m)',
  );
  badInput(
    () => parsePolicy({ tiers: [{ for: "7d", keep: "3/fortnight" }] }),
    'Invalid retention policy: tiers[0].keep period must be one of hour, day, week, month, year, got "fortnight"',
  );
  badInput(
    () => parsePolicy({ tiers: [{ for: "7d", until: "8d", keep: "all" }] }),
    'Invalid retention policy: tiers[0] needs exactly one of "for" and "until"',
  );
  badInput(
    () => parsePolicy({ tiers: [] }),
    "Invalid retention policy: tiers must be a non-empty list",
  );
  badInput(
    () => parsePolicy({ keepLast: 1, groupBy: "hosts" }),
    'Invalid retention policy: groupBy must be host, tags, paths or tag:PATTERN (e.g. tag:db:*), got "hosts"',
  );
  badInput(
    () => parsePolicy({ keepLast: 1, groups: [{ match: {}, keepLast: 1 }] }),
    "Invalid retention policy: groups[0].match is empty: give host, tags or tagPrefix",
  );
  badInput(
    () => parsePolicy({ keepLast: 1, groups: [{ match: { host: "a" } }] }),
    "Invalid retention policy: groups[0] has no keep rule",
  );
  badInput(() => parsePolicy([]), "Invalid retention policy: expected an object, got []");
});

test("parsePolicyFlags() reads restic-style flags and names them in errors", () => {
  const p = parsePolicyFlags({
    "keep-daily": "7",
    "keep-within-hourly": "150h",
    tier: ["7d:all", "3w:3/week"],
    "keep-tag": "x",
    "group-by": "host,tags",
  });
  assert.equal(p.rules.keepDaily, 7);
  assert.equal(p.rules.keepWithinHourly?.text, "150h");
  assert.deepEqual(p.rules.tiers?.[1], parseTier("3w:3/week"));
  assert.deepEqual(p.groupBy, ["host", "tags"]);
  badInput(
    () => parsePolicyFlags({ "keep-daly": "7" }),
    "Invalid retention policy: unknown flag --keep-daly",
  );
  badInput(
    () => parsePolicyFlags({ "keep-within-daily": "x" }),
    'Invalid retention policy: --keep-within-daily "x": expected a duration like 7d, 150h, 12m (months), 3w or 1y2m3d4h',
  );
  badInput(
    () => parsePolicyFlags({ "keep-last": ["1", "2"] }),
    "Invalid retention policy: --keep-last given more than once",
  );
  badInput(
    () => parsePolicyFlags({ tier: "7d" }),
    'Invalid retention policy: --tier[0] must look like "3w:3/week", got "7d"',
  );
});
