import assert from "node:assert/strict";
import { test } from "node:test";
import { applyPolicy } from "./apply.ts";
import { DAY_MS, HOUR_MS } from "./calendar.ts";
import { parseDuration } from "./duration.ts";
import { PRESETS } from "./presets.ts";
import { iso, keptIds, policyOf, series, simulate, snap } from "./testing/history.ts";

const PARIS = "Europe/Paris";
const degressive = policyOf(PRESETS.degressive);
const dates = (list: string, time = "02:00:00Z"): string[] =>
  list.split(" ").map((d) => `2025-${d}T${time}`);
const dayOf = (id: string): string => id.slice(0, 10);

test("degressive with missing days keeps the oldest backup of each slot that has one", () => {
  const gaps = new Set<string>();
  for (const [from, to] of [
    ["2025-02-01", "2025-02-10"],
    ["2025-11-03", "2025-11-09"],
    ["2025-12-08", "2025-12-10"],
  ] as const) {
    for (let t = Date.parse(from); t <= Date.parse(to); t += DAY_MS) gaps.add(iso(t).slice(0, 10));
  }
  const history = series("2025-01-01T02:00:00Z", 365, DAY_MS).filter((s) => !gaps.has(dayOf(s.id)));
  // Tier 2: the week of Monday Dec 8 has no backup before Thursday, so it keeps Thu 11 and
  // Sat 13 only. Tier 3: the week of Nov 3 has none at all. Tier 4: February's first
  // Monday (Feb 3) and the next (Feb 10) are missing; the oldest pick is Tuesday Feb 11,
  // the oldest backup of its week's first slot.
  const expected = [
    ...dates("12-25 12-26 12-27 12-28 12-29 12-30 12-31"),
    ...dates("12-04 12-06 12-11 12-13 12-15 12-18 12-20 12-22"),
    ...dates("10-13 10-20 10-27 11-10 11-17 11-24 12-01"),
    ...dates("01-01 02-11 03-03 04-07 05-05 06-02 07-07 08-04 09-01 10-06"),
  ].sort();
  assert.equal(expected.length, 32);
  assert.deepEqual(
    keptIds(history, degressive, { now: Date.parse("2025-12-31T02:00:00Z") }),
    expected,
  );
  assert.deepEqual(
    simulate(
      history.map((s) => [s]),
      degressive,
    ),
    expected,
  );
});

test("degressive with a clock jump backwards keeps the earlier snapshot of the slot", () => {
  // On Dec 16 the client clock is 25 hours late: the snapshot says Dec 15 01:00, earlier
  // than the previous one (Dec 15 02:00). Another day the clock was reset to 2024-06-01.
  const batches = series("2025-01-01T02:00:00Z", 365, DAY_MS).map((s) => {
    if (dayOf(s.id) === "2025-12-16") return [snap("2025-12-15T01:00:00Z")];
    if (dayOf(s.id) === "2025-12-20") return [s, snap("2024-06-01T12:00:00Z")];
    return [s];
  });
  // Monday's slot (Mon 00:00-Wed 08:00) of the week of Dec 15 now keeps 01:00, not 02:00;
  // the 2024 snapshot is older than every tier.
  const expected = [
    ...dates("12-25 12-26 12-27 12-28 12-29 12-30 12-31"),
    ...dates("12-04 12-06 12-08 12-11 12-13 12-18 12-20 12-22"),
    "2025-12-15T01:00:00Z",
    ...dates("10-13 10-20 10-27 11-03 11-10 11-17 11-24 12-01"),
    ...dates("01-01 02-03 03-03 04-07 05-05 06-02 07-07 08-04 09-01 10-06"),
  ].sort();
  const all = batches.flat();
  const now = Date.parse("2025-12-31T02:00:00Z");
  assert.deepEqual(keptIds(all, degressive, { now }), expected);
  assert.deepEqual(
    keptIds([...all].reverse(), degressive, { now }),
    expected,
    "input order is irrelevant",
  );
  assert.deepEqual(simulate(batches, degressive), expected);
});

test("degressive in Europe/Paris follows the wall clock across both DST changes", () => {
  // Backups at 00:30 Paris time: 23:30Z the day before in winter, 22:30Z in summer (CEST
  // from Mar 30 02:00 to Oct 26 03:00). Buckets in UTC would shift every one by a day.
  const offset = (d: string): string =>
    d >= "2025-03-30" && d <= "2025-10-26" ? "+02:00" : "+01:00";
  const local = (d: string): string => iso(Date.parse(`${d}T00:30:00${offset(d)}`));
  const history: ReturnType<typeof snap>[] = [];
  for (
    let t = Date.parse("2025-01-01T00:00:00Z");
    t <= Date.parse("2025-12-31T00:00:00Z");
    t += DAY_MS
  ) {
    history.push(snap(local(iso(t).slice(0, 10))));
  }
  // Same reasoning as the UTC year (00:30 is in the same slots as 02:00): 34 kept.
  const expected = [
    "12-25 12-26 12-27 12-28 12-29 12-30 12-31",
    "12-04 12-06 12-08 12-11 12-13 12-15 12-18 12-20 12-22",
    "10-13 10-20 10-27 11-03 11-10 11-17 11-24 12-01",
    "01-01 02-03 03-03 04-07 05-05 06-02 07-07 08-04 09-01 10-06",
  ]
    .join(" ")
    .split(" ")
    .map((d) => local(`2025-${d}`))
    .sort();
  const now = Date.parse(local("2025-12-31"));
  assert.deepEqual(keptIds(history, degressive, { now, timeZone: PARIS }), expected);
  assert.notDeepEqual(keptIds(history, degressive, { now, timeZone: "UTC" }), expected);
});

test("keepDaily and keepHourly count a 25-hour Paris day once and its repeated hour twice", () => {
  // Hourly from Sat Oct 25 00:00 CEST to Mon Oct 27 23:00 CET: 24 + 25 + 24 snapshots.
  const hourly = series("2025-10-24T22:00:00Z", 73, HOUR_MS);
  const now = Date.parse("2025-10-27T22:00:00Z");
  const daily = keptIds(hourly, policyOf({ keepDaily: 3 }), { now, timeZone: PARIS });
  assert.deepEqual(daily, ["2025-10-25T21:00:00Z", "2025-10-26T22:00:00Z", "2025-10-27T22:00:00Z"]);
  const byDay = keptIds(hourly, policyOf({ keepWithinDaily: parseDuration("2d") }), {
    now,
    timeZone: PARIS,
  });
  assert.deepEqual(byDay, ["2025-10-26T22:00:00Z", "2025-10-27T22:00:00Z"]);

  // Every 30 minutes around the change: 01:xx CEST, 02:xx CEST, 02:xx CET, 03:xx CET.
  const halfHourly = series("2025-10-25T23:00:00Z", 8, HOUR_MS / 2);
  const hours = keptIds(halfHourly, policyOf({ keepHourly: 3 }), {
    now: Date.parse("2025-10-26T02:30:00Z"),
    timeZone: PARIS,
  });
  assert.deepEqual(hours, ["2025-10-26T00:30:00Z", "2025-10-26T01:30:00Z", "2025-10-26T02:30:00Z"]);
});

test("keepWithin 1d spans 23 or 25 real hours across Paris DST changes", () => {
  const fall = series("2025-10-24T00:00:00Z", 60, HOUR_MS); // through Oct 26 11:00Z = 12:00 CET
  const fallKept = keptIds(fall, policyOf({ keepWithin: parseDuration("1d") }), {
    now: Date.parse("2025-10-26T11:00:00Z"),
    timeZone: PARIS,
  });
  assert.equal(fallKept.length, 25);
  assert.equal(fallKept[0], "2025-10-25T11:00:00Z");
  const spring = series("2025-03-28T00:00:00Z", 59, HOUR_MS); // through Mar 30 10:00Z = 12:00 CEST
  const springKept = keptIds(spring, policyOf({ keepWithin: parseDuration("1d") }), {
    now: Date.parse("2025-03-30T10:00:00Z"),
    timeZone: PARIS,
  });
  assert.equal(springKept.length, 23);
  assert.equal(springKept[0], "2025-03-29T12:00:00Z");
});

test("a 2/day tier splits the 23-hour Paris day at 12:00 wall time", () => {
  const day = series("2025-03-29T23:00:00Z", 23, HOUR_MS); // Mar 30 00:00 CET .. 23:00 CEST
  const tiers = [{ for: parseDuration("2d"), keep: { count: 2, per: "day" } } as const];
  const kept = keptIds(day, policyOf({ tiers }), {
    now: Date.parse("2025-03-30T21:00:00Z"),
    timeZone: PARIS,
  });
  assert.deepEqual(kept, ["2025-03-29T23:00:00Z", "2025-03-30T10:00:00Z", "2025-03-30T21:00:00Z"]);
});

test("a burst of 50 snapshots in one hour is kept for 7 days, then thinned to the slot's oldest", () => {
  const burst = Array.from({ length: 50 }, (_, i) =>
    snap(iso(Date.parse("2025-03-10T10:00:00Z") + i * 60_000)),
  );
  const batches = series("2025-01-01T02:00:00Z", 90, DAY_MS).map((s) =>
    dayOf(s.id) === "2025-03-10" ? [s, ...burst] : [s],
  );
  let keptOnBurstDay = 0;
  simulate(batches.slice(0, 69), degressive, {}, ({ kept }) => {
    keptOnBurstDay = burst.filter((b) => kept.has(b.id)).length;
  });
  assert.equal(keptOnBurstDay, 50);
  // On Mar 31 the burst is 21 days old (tier 2); Monday Mar 10 02:00 is the oldest of its
  // slot, so all 50 go. Tier 2 (Mar 3 02:00 < t <= Mar 24 02:00): Thu/Sat/Mon picks from
  // Thu Mar 6 (Tue Mar 4 shares Monday Mar 3's slot). Tier 3: the 8 Mondays Jan 13..Mar 3.
  // Tier 4: January's oldest, Jan 1. 7 + 9 + 8 + 1 = 25.
  const expected = [
    ...dates("03-25 03-26 03-27 03-28 03-29 03-30 03-31"),
    ...dates("03-06 03-08 03-10 03-13 03-15 03-17 03-20 03-22 03-24"),
    ...dates("01-13 01-20 01-27 02-03 02-10 02-17 02-24 03-03"),
    ...dates("01-01"),
  ].sort();
  assert.deepEqual(simulate(batches, degressive), expected);
  assert.deepEqual(
    keptIds(batches.flat(), degressive, { now: Date.parse("2025-03-31T02:00:00Z") }),
    expected,
  );
});

test("degressive is stable day by day: drops happen only when a snapshot crosses a tier boundary", () => {
  const days = 520; // 2025-01-01 .. 2026-06-04: past the 15-month steady state
  const history = series("2025-01-01T02:00:00Z", days, DAY_MS);
  const WEEKDAY = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const weekday = (t: number): string => WEEKDAY[new Date(t).getUTCDay()]!;
  // Independent tier arithmetic on whole days: 7d, +21d, +56d, then 12 calendar months.
  const tierOf = (t: number, now: number): number => {
    const age = Math.round((now - t) / DAY_MS);
    if (age < 7) return 1;
    if (age < 28) return 2;
    if (age < 84) return 3;
    const b = new Date(now - 84 * DAY_MS);
    return t > Date.UTC(b.getUTCFullYear() - 1, b.getUTCMonth(), b.getUTCDate(), 2) ? 4 : 5;
  };
  const drops = { 1: 0, 2: 0, 3: 0, 4: 0 } as Record<number, number>;
  const expectedDrops = { 1: 0, 2: 0, 3: 0, 4: 0 } as Record<number, number>;
  let previous = new Set<string>();
  let forgottenEver = new Set<string>();
  const windowStart = Date.parse("2025-06-01T02:00:00Z");
  simulate(
    history.map((s) => [s]),
    degressive,
    {},
    ({ now, kept, forgotten }) => {
      for (const id of forgotten) {
        const t = Date.parse(id);
        assert.ok(!forgottenEver.has(id));
        if (!previous.has(id)) continue; // forgotten on arrival: impossible, it is the newest
        const from = tierOf(t, now - DAY_MS);
        const to = tierOf(t, now);
        assert.equal(to, from + 1, `${id} dropped on ${iso(now)} inside tier ${from}`);
        if (now >= windowStart) drops[from] = (drops[from] ?? 0) + 1;
      }
      forgottenEver = new Set([...forgottenEver, ...forgotten]);
      previous = kept;
    },
  );
  // What the policy intends, counted from the calendar over the same run days.
  for (
    let now = windowStart;
    now < Date.parse("2025-01-01T02:00:00Z") + days * DAY_MS;
    now += DAY_MS
  ) {
    const at7 = now - 7 * DAY_MS;
    if (["Tue", "Wed", "Fri", "Sun"].includes(weekday(at7))) expectedDrops[1]!++;
    const at28 = now - 28 * DAY_MS;
    if (["Thu", "Sat"].includes(weekday(at28))) expectedDrops[2]!++;
    const at84 = now - 84 * DAY_MS;
    if (weekday(at84) === "Mon" && new Date(at84).getUTCDate() > 7) expectedDrops[3]!++;
    for (const s of history) {
      const t = s.time;
      // Monthly picks: the first backup (Wed Jan 1, oldest of January) and the first Monday
      // of every later month (Mon Jan 6 is not one: January's oldest is Jan 1).
      const firstOfMonth =
        s.id === "2025-01-01T02:00:00Z" ||
        (t > Date.parse("2025-01-31T00:00:00Z") &&
          weekday(t) === "Mon" &&
          new Date(t).getUTCDate() <= 7);
      if (firstOfMonth && tierOf(t, now - DAY_MS) === 4 && tierOf(t, now) === 5)
        expectedDrops[4]!++;
    }
  }
  assert.deepEqual(drops, expectedDrops);
  // Steady state on Thu 2026-06-04: 7 + 9 + 8 + 12 monthly picks (Apr 2025 .. Mar 2026).
  // Over a year: 4 of 7 days leave at 7 days, 2 of 7 at 28 days, Mondays but the month's
  // first at 84 days, and from April 2026 one monthly pick a month at 84 days + 12 months.
  assert.ok(
    expectedDrops[1]! > 200 &&
      expectedDrops[2]! > 100 &&
      expectedDrops[3]! > 30 &&
      expectedDrops[4]! >= 3,
  );
});

test("retention decided from the full history never revives a snapshot it forgot", () => {
  const history = series("2025-01-01T02:00:00Z", 480, DAY_MS);
  const forgotten = new Set<string>();
  for (let n = 1; n <= history.length; n += 1) {
    const decision = applyPolicy(history.slice(0, n), degressive, { now: history[n - 1]!.time });
    const group = decision.groups[0]!;
    for (const k of group.keep) assert.ok(!forgotten.has(k.id), `${k.id} came back on day ${n}`);
    for (const f of group.forget) forgotten.add(f.id);
  }
  // Day 480 is Sat 2026-04-25: 7 + 9 + 8 + 12 monthly picks (Feb 2025 .. Jan 2026).
  assert.equal(history.length - forgotten.size, 36);
});
