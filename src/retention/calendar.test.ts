import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { bucketKey, instantOf, isoWeek, slotIndex, wallClock, wallMs } from "./calendar.ts";

const PARIS = "Europe/Paris";
const at = (iso: string): number => Date.parse(iso);

test("wallClock() reads Paris wall time on both sides of the spring-forward gap", () => {
  const before = wallClock(at("2025-03-30T00:30:00Z"), PARIS);
  assert.deepEqual([before.hour, before.minute, before.offsetMs], [1, 30, 3_600_000]);
  const after = wallClock(at("2025-03-30T01:30:00Z"), PARIS);
  assert.deepEqual([after.hour, after.minute, after.offsetMs], [3, 30, 7_200_000]);
  assert.equal(after.weekday, 7);
});

test("bucketKey() keeps a 25-hour day as one day but the repeated hour as two hours", () => {
  const first = wallClock(at("2025-10-26T00:30:00Z"), PARIS); // 02:30 CEST
  const second = wallClock(at("2025-10-26T01:30:00Z"), PARIS); // 02:30 CET
  assert.equal(bucketKey("day", first), "2025-10-26");
  assert.equal(bucketKey("day", second), "2025-10-26");
  assert.equal(bucketKey("hour", first), "2025-10-26T02+0200");
  assert.equal(bucketKey("hour", second), "2025-10-26T02+0100");
  assert.equal(bucketKey("month", second), "2025-10");
  assert.equal(bucketKey("year", second), "2025");
  assert.equal(bucketKey("week", second), "2025-W43");
});

test("isoWeek() follows ISO 8601 at year ends", () => {
  assert.deepEqual(isoWeek(2025, 12, 29), { year: 2026, week: 1 });
  assert.deepEqual(isoWeek(2021, 1, 3), { year: 2020, week: 53 });
  assert.deepEqual(isoWeek(2026, 1, 1), { year: 2026, week: 1 });
  assert.deepEqual(isoWeek(2024, 12, 30), { year: 2025, week: 1 });
});

test("slotIndex() splits a week into 3 wall-clock slots of 56 hours", () => {
  const slot = (iso: string): number => slotIndex("week", 3, wallClock(at(iso), "UTC"));
  assert.equal(slot("2025-12-01T00:00:00Z"), 0); // Monday 00:00
  assert.equal(slot("2025-12-03T07:59:59Z"), 0);
  assert.equal(slot("2025-12-03T08:00:00Z"), 1); // Wednesday 08:00
  assert.equal(slot("2025-12-05T15:59:59Z"), 1);
  assert.equal(slot("2025-12-05T16:00:00Z"), 2); // Friday 16:00
  assert.equal(slot("2025-12-07T23:59:59Z"), 2);
});

test("slotIndex() splits a 23-hour Paris day at 12:00 wall time", () => {
  const slot = (iso: string): number => slotIndex("day", 2, wallClock(at(iso), PARIS));
  assert.equal(slot("2025-03-30T09:59:00Z"), 0); // 11:59 CEST
  assert.equal(slot("2025-03-30T10:00:00Z"), 1); // 12:00 CEST
  assert.equal(slotIndex("month", 2, wallClock(at("2025-02-14T23:59:00Z"), "UTC")), 0);
  assert.equal(slotIndex("month", 2, wallClock(at("2025-02-15T00:00:00Z"), "UTC")), 1);
});

test("instantOf() resolves overlaps to the earlier instant and gaps forward", () => {
  assert.equal(instantOf(Date.UTC(2025, 9, 26, 2, 30), PARIS), at("2025-10-26T00:30:00Z"));
  assert.equal(instantOf(Date.UTC(2025, 2, 30, 2, 30), PARIS), at("2025-03-30T01:30:00Z"));
  assert.equal(instantOf(Date.UTC(2025, 6, 1, 12, 0), PARIS), at("2025-07-01T10:00:00Z"));
  const w = wallClock(at("2025-07-01T10:00:00Z"), PARIS);
  assert.equal(wallMs(w), Date.UTC(2025, 6, 1, 12, 0));
});

test("wallClock() refuses an unknown time zone with BAD_INPUT", () => {
  assert.throws(
    () => wallClock(0, "Mars/Olympus"),
    (e) => isCofferError(e, "BAD_INPUT") && /Invalid time zone "Mars\/Olympus"/.test(e.message),
  );
});
