import assert from "node:assert/strict";
import { test } from "node:test";
import { applyPolicy } from "./apply.ts";
import { DAY_MS, HOUR_MS } from "./calendar.ts";
import { PRESETS } from "./presets.ts";
import { keptIds, policyOf, series, simulate, snap } from "./testing/history.ts";

const at2 = (dates: readonly string[], time: string): string[] => dates.map((d) => `${d}T${time}Z`);
const weekday = (iso: string): string =>
  ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][new Date(iso).getUTCDay()]!;

// Daily backups at 02:00 UTC from Wednesday 2025-01-01 to Wednesday 2025-12-31 (365).
// Windows end at the newest backup, 2025-12-31T02:00Z. Reasoning, tier by tier:
// - tier 1 "all for 7d" (t > Dec 24 02:00): Dec 25..31, 7 snapshots.
// - tier 2 "3/week for 3w" (Dec 3 02:00 < t <= Dec 24 02:00 = 21 days, each weekday 3 times):
//   slots Mon 00:00-Wed 08:00, Wed 08:00-Fri 16:00, Fri 16:00-Mon 00:00 keep their oldest
//   backup, i.e. Monday, Thursday and Saturday: 9 snapshots.
// - tier 3 "1/week for 8w" (Oct 8 02:00 < t <= Dec 3 02:00 = 56 days): the oldest of the
//   Mon/Thu/Sat picks of each ISO week is Monday: 8 Mondays.
// - tier 4 "1/month for 12m" (Oct 8 2024 02:00 < t <= Oct 8 2025 02:00, i.e. every backup
//   up to Oct 8): the oldest weekly pick of each month is its first Monday, except January
//   whose oldest is the very first backup (Wednesday Jan 1, the oldest of its week): 10.
// Total 7 + 9 + 8 + 10 = 34. Once tier 4 is full (after 15 months) it holds 12 months.
const DEGRESSIVE_YEAR = {
  tier1: at2(
    [
      "2025-12-25",
      "2025-12-26",
      "2025-12-27",
      "2025-12-28",
      "2025-12-29",
      "2025-12-30",
      "2025-12-31",
    ],
    "02:00:00",
  ),
  tier2: at2(
    [
      "2025-12-04",
      "2025-12-06",
      "2025-12-08",
      "2025-12-11",
      "2025-12-13",
      "2025-12-15",
      "2025-12-18",
      "2025-12-20",
      "2025-12-22",
    ],
    "02:00:00",
  ),
  tier3: at2(
    [
      "2025-10-13",
      "2025-10-20",
      "2025-10-27",
      "2025-11-03",
      "2025-11-10",
      "2025-11-17",
      "2025-11-24",
      "2025-12-01",
    ],
    "02:00:00",
  ),
  tier4: at2(
    [
      "2025-01-01",
      "2025-02-03",
      "2025-03-03",
      "2025-04-07",
      "2025-05-05",
      "2025-06-02",
      "2025-07-07",
      "2025-08-04",
      "2025-09-01",
      "2025-10-06",
    ],
    "02:00:00",
  ),
};

test("degressive keeps exactly 34 of a year of daily backups (7 + 9 + 8 + 10)", () => {
  // The calendar facts the reasoning relies on.
  assert.deepEqual([...new Set(DEGRESSIVE_YEAR.tier2.map(weekday))].sort(), ["Mon", "Sat", "Thu"]);
  assert.ok(
    [...DEGRESSIVE_YEAR.tier3, ...DEGRESSIVE_YEAR.tier4.slice(1)].every(
      (d) => weekday(d) === "Mon",
    ),
  );
  assert.ok(DEGRESSIVE_YEAR.tier4.slice(1).every((d) => Number(d.slice(8, 10)) <= 7));
  assert.equal(weekday(DEGRESSIVE_YEAR.tier4[0]!), "Wed");

  const history = series("2025-01-01T02:00:00Z", 365, DAY_MS);
  const policy = policyOf(PRESETS.degressive);
  const expected = Object.values(DEGRESSIVE_YEAR).flat().sort();
  assert.equal(expected.length, 34);
  const now = Date.parse("2025-12-31T02:00:00Z");
  assert.deepEqual(keptIds(history, policy, { now }), expected);

  const decision = applyPolicy(history, policy, { now });
  const reasons = new Map(decision.groups[0]!.keep.map((k) => [k.id, k.reasons]));
  assert.deepEqual(reasons.get("2025-12-31T02:00:00Z"), ["tier 1: all", "newest snapshot"]);
  assert.deepEqual(reasons.get("2025-12-04T02:00:00Z"), ["tier 2: 3/week"]);
  assert.deepEqual(reasons.get("2025-11-03T02:00:00Z"), ["tier 3: 1/week"]);
  assert.deepEqual(reasons.get("2025-01-01T02:00:00Z"), ["tier 4: 1/month"]);
  assert.equal(decision.groups[0]!.forget.length, 365 - 34);

  // Running retention every day and deleting what it forgets ends at the same 34.
  const daily = history.map((s) => [s]);
  assert.deepEqual(simulate(daily, policy), expected);
});

// Hourly backups at hh:00 UTC for all of 2025 (8760). Newest: 2025-12-31T23:00Z.
// - "1/hour until 150h" (t > Dec 25 17:00): 150 snapshots (Dec 25 18:00 .. Dec 31 23:00).
// - "1/day until 90d" (Oct 2 23:00 < t <= Dec 25 17:00): the oldest backup of each day is
//   00:00: Oct 3 .. Dec 25 = 29 + 30 + 25 = 84.
// - "1/month until 12m" (Dec 31 2024 23:00 < t <= Oct 2 23:00): the oldest daily pick of each
//   month is the 1st at 00:00: Jan 1 .. Oct 1 = 10.
// Total 150 + 84 + 10 = 244.
test("hourly-150h-daily-90d-monthly-12m keeps exactly 244 of a year of hourly backups", () => {
  const history = series("2025-01-01T00:00:00Z", 8760, HOUR_MS);
  const last = Date.parse("2025-12-31T23:00:00Z");
  const expected: string[] = [];
  for (let i = 0; i < 150; i++)
    expected.push(new Date(last - i * HOUR_MS).toISOString().replace(".000Z", "Z"));
  for (
    let d = Date.parse("2025-10-03T00:00:00Z");
    d <= Date.parse("2025-12-25T00:00:00Z");
    d += DAY_MS
  ) {
    expected.push(new Date(d).toISOString().replace(".000Z", "Z"));
  }
  for (let m = 0; m < 10; m++)
    expected.push(new Date(Date.UTC(2025, m, 1)).toISOString().replace(".000Z", "Z"));
  expected.sort();
  assert.equal(expected.length, 244);

  const policy = policyOf(PRESETS["hourly-150h-daily-90d-monthly-12m"]);
  assert.deepEqual(keptIds(history, policy, { now: last }), expected);
  // Retention run once a day (after each day's 24 backups) converges on the same set.
  const days = Array.from({ length: 365 }, (_, d) => history.slice(d * 24, d * 24 + 24));
  assert.deepEqual(simulate(days, policy), expected);
});

test("rolling-30d and twice-daily-7d keep the last 30 days and 14 dumps", () => {
  const daily = series("2025-01-01T02:00:00Z", 365, DAY_MS);
  const now = Date.parse("2025-12-31T02:00:00Z");
  const rolling = keptIds(daily, policyOf(PRESETS["rolling-30d"]), { now });
  assert.equal(rolling.length, 30);
  assert.equal(rolling[0], "2025-12-02T02:00:00Z");

  const dumps = series("2025-06-01T00:00:00Z", 60, 12 * HOUR_MS);
  const kept = keptIds(dumps, policyOf(PRESETS["twice-daily-7d"]), {
    now: Date.parse("2025-06-30T12:00:00Z"),
  });
  // Newest dump: June 30 12:00. Window: t > June 23 12:00, so June 24 00:00 .. June 30 12:00.
  assert.equal(kept.length, 14);
  assert.equal(kept[0], "2025-06-24T00:00:00Z");
});

test("gfs-7d-4w-6m keeps 7 days, then Mondays, then first Mondays of months", () => {
  const history = series("2025-01-01T02:00:00Z", 365, DAY_MS);
  const now = Date.parse("2025-12-31T02:00:00Z");
  // 1/day for 7d: Dec 25..31. 1/week for 4w (Nov 26 02:00 < t <= Dec 24 02:00): the oldest
  // backup of each ISO week is Monday: Dec 1, 8, 15, 22 (Nov 27..30 belong to the week of
  // Monday Nov 24, outside the tier). 1/month for 6m (May 26 02:00 < t <= Nov 26 02:00): the
  // oldest weekly pick of June..November is its first Monday.
  const expected = [
    ...at2(
      [
        "2025-12-25",
        "2025-12-26",
        "2025-12-27",
        "2025-12-28",
        "2025-12-29",
        "2025-12-30",
        "2025-12-31",
      ],
      "02:00:00",
    ),
    ...at2(["2025-12-01", "2025-12-08", "2025-12-15", "2025-12-22"], "02:00:00"),
    ...at2(
      ["2025-06-02", "2025-07-07", "2025-08-04", "2025-09-01", "2025-10-06", "2025-11-03"],
      "02:00:00",
    ),
  ].sort();
  const policy = policyOf(PRESETS["gfs-7d-4w-6m"]);
  assert.deepEqual(keptIds(history, policy, { now }), expected);
  assert.deepEqual(
    simulate(
      history.map((s) => [s]),
      policy,
    ),
    expected,
  );
});

test("presets keep everything younger than their first window when backups stop", () => {
  const history = [snap("2025-01-01T02:00:00Z"), snap("2025-01-02T02:00:00Z")];
  for (const [name, rules] of Object.entries(PRESETS)) {
    const kept = keptIds(history, policyOf(rules), { now: Date.parse("2027-01-01T00:00:00Z") });
    assert.equal(kept.length, 2, name);
  }
});
