import assert from "node:assert/strict";
import { test } from "node:test";
import { formatInZone, nextSlot, parseCron, prevSlot, zonedToUtc } from "./cron.ts";

test("parseCron() reads lists, ranges and steps and refuses bad fields", () => {
  const c = parseCron("*/15 8-18/5 * * 1-5");
  assert.deepEqual(c.minutes, [0, 15, 30, 45]);
  assert.deepEqual(c.hours, [8, 13, 18]);
  assert.deepEqual([...c.weekdays], [1, 2, 3, 4, 5]);
  assert.deepEqual([...parseCron("0 0 * * 7").weekdays], [0]);
  assert.throws(() => parseCron("0 24 * * *"), /hour "24" is out of range 0-23/);
  assert.throws(() => parseCron("0 0 * *"), /expected 5 fields/);
  assert.throws(() => parseCron("x 0 * * *"), /bad minute field/);
});

test("nextSlot()/prevSlot() evaluate in the IANA time zone, across DST", () => {
  const c = parseCron("0 0,12 * * *");
  const tz = "Europe/Paris";
  // 2026-01-15 10:00 Paris = 09:00Z → next 12:00 Paris = 11:00Z
  const t = Date.UTC(2026, 0, 15, 9, 0);
  assert.equal(nextSlot(c, tz, t), Date.UTC(2026, 0, 15, 11, 0));
  assert.equal(prevSlot(c, tz, t), Date.UTC(2026, 0, 14, 23, 0));
  assert.equal(prevSlot(c, tz, Date.UTC(2026, 0, 15, 11, 0)), Date.UTC(2026, 0, 15, 11, 0));
  // Summer: 12:00 Paris = 10:00Z
  assert.equal(nextSlot(c, tz, Date.UTC(2026, 6, 1, 0, 0)), Date.UTC(2026, 6, 1, 10, 0));
  // DST start 2026-03-29: 02:30 does not exist in Paris; it maps past the gap
  assert.equal(zonedToUtc(2026, 3, 29, 2, 30, tz), Date.UTC(2026, 2, 29, 1, 30));
  // day-of-month OR day-of-week when both are restricted
  const both = parseCron("0 6 1 * 1");
  assert.equal(nextSlot(both, "UTC", Date.UTC(2026, 0, 1, 7, 0)), Date.UTC(2026, 0, 5, 6, 0));
  assert.equal(
    formatInZone(Date.UTC(2026, 0, 15, 11, 0), tz),
    "2026-01-15 12:00 +01:00 (Europe/Paris)",
  );
  assert.equal(
    formatInZone(Date.UTC(2026, 6, 1, 10, 0), "America/New_York"),
    "2026-07-01 06:00 -04:00 (America/New_York)",
  );
});

test("zonedToUtc() maps a time in the repeated hour (DST end) to its first occurrence", () => {
  // 2026-10-25 Paris: 02:30 CEST (00:30Z) and then 02:30 CET (01:30Z).
  assert.equal(zonedToUtc(2026, 10, 25, 2, 30, "Europe/Paris"), Date.UTC(2026, 9, 25, 0, 30));
  assert.equal(
    nextSlot(parseCron("30 2 * * *"), "Europe/Paris", Date.UTC(2026, 9, 24, 12)),
    Date.UTC(2026, 9, 25, 0, 30),
  );
  // New York falls back at 02:00 EDT to 01:00 EST: 01:30 EDT is 05:30Z.
  assert.equal(zonedToUtc(2026, 11, 1, 1, 30, "America/New_York"), Date.UTC(2026, 10, 1, 5, 30));
});
