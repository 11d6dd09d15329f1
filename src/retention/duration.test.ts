import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { addDurations, parseDuration, subtractDuration } from "./duration.ts";

const at = (iso: string): number => Date.parse(iso);

test("parseDuration() reads y m w d h in order", () => {
  const pick = (s: string): number[] => {
    const d = parseDuration(s);
    return [d.years, d.months, d.days, d.hours];
  };
  assert.deepEqual(pick("7d"), [0, 0, 7, 0]);
  assert.deepEqual(pick("150h"), [0, 0, 0, 150]);
  assert.deepEqual(pick("12m"), [0, 12, 0, 0]);
  assert.deepEqual(pick("3w"), [0, 0, 21, 0]);
  assert.deepEqual(pick("1y2m3d4h"), [1, 2, 3, 4]);
  assert.equal(parseDuration("3w").text, "21d");
  assert.equal(parseDuration("1y2m3d4h").text, "1y2m3d4h");
  assert.equal(addDurations(parseDuration("7d"), parseDuration("3w")).text, "28d");
});

test("parseDuration() refuses malformed and zero durations with BAD_INPUT", () => {
  for (const bad of ["", "7", "7x", "d7", "7d1y", "0d", "0y0m", "-1d", "1.5d", "7 d"]) {
    assert.throws(
      () => parseDuration(bad, "keepWithin"),
      (e) => isCofferError(e, "BAD_INPUT") && e.message.startsWith(`Invalid keepWithin "${bad}"`),
      bad,
    );
  }
});

test("subtractDuration() clamps the day of month", () => {
  const t = at("2025-03-31T12:00:00Z");
  assert.equal(subtractDuration(t, parseDuration("1m"), "UTC"), at("2025-02-28T12:00:00Z"));
  assert.equal(subtractDuration(t, parseDuration("1y1m"), "UTC"), at("2024-02-29T12:00:00Z"));
  assert.equal(subtractDuration(t, parseDuration("12m"), "UTC"), at("2024-03-31T12:00:00Z"));
  assert.equal(subtractDuration(t, parseDuration("1d2h"), "UTC"), at("2025-03-30T10:00:00Z"));
});

test("subtractDuration() counts calendar days across Paris DST changes", () => {
  // 12:00 CEST on Monday 31 March minus 2 days is 12:00 CET on Saturday: 47 real hours.
  const spring = subtractDuration(at("2025-03-31T10:00:00Z"), parseDuration("2d"), "Europe/Paris");
  assert.equal(spring, at("2025-03-29T11:00:00Z"));
  // 12:00 CET on Sunday 26 October minus 1 day is 12:00 CEST on Saturday: 25 real hours.
  const fall = subtractDuration(at("2025-10-26T11:00:00Z"), parseDuration("1d"), "Europe/Paris");
  assert.equal(fall, at("2025-10-25T10:00:00Z"));
  // Hours are exact.
  const hours = subtractDuration(at("2025-10-26T11:00:00Z"), parseDuration("24h"), "Europe/Paris");
  assert.equal(hours, at("2025-10-25T11:00:00Z"));
});
