import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import { parseTime } from "./parse-time.ts";

test("parseTime() reads local date-times and ISO 8601 with an offset", () => {
  const local = new Date(2026, 0, 31, 23, 0, 0).getTime();
  assert.equal(parseTime("2026-01-31 23:00:00").getTime(), local);
  assert.equal(parseTime("2026-01-31T23:00:00").getTime(), local);
  assert.equal(parseTime("2026-01-31 23:00").getTime(), local);
  assert.equal(parseTime(" 2026-01-31 23:00:00 ").getTime(), local);
  assert.equal(parseTime("2026-01-31").getTime(), new Date(2026, 0, 31).getTime());
  assert.equal(parseTime("2026-01-31T23:00:00Z").toISOString(), "2026-01-31T23:00:00.000Z");
  assert.equal(parseTime("2026-01-31T23:00:00+01:00").toISOString(), "2026-01-31T22:00:00.000Z");
  assert.equal(parseTime("2026-01-31T23:00-0230").toISOString(), "2026-02-01T01:30:00.000Z");
  assert.equal(parseTime("2024-02-29T12:00:00.25Z").toISOString(), "2024-02-29T12:00:00.250Z");
});

test("parseTime() refuses other text and dates that do not exist instead of rolling them over", () => {
  for (const [text, why] of [
    ["yesterday", /use "YYYY-MM-DD HH:MM:SS" \(local time\) or ISO 8601/],
    ["1", /use "YYYY-MM-DD HH:MM:SS"/],
    ["Jan 31 2026", /use "YYYY-MM-DD HH:MM:SS"/],
    ["2026-01-31 23:00:00 +01:00", /use "YYYY-MM-DD HH:MM:SS"/],
    ["2026-02-30 10:00:00", /no such date or time/],
    ["2025-02-29", /no such date or time/],
    ["2026-13-01 00:00:00", /no such date or time/],
    ["2026-01-31 24:00:00", /no such date or time/],
    ["2026-01-31T23:60:00Z", /no such date or time/],
    ["2026-01-31T23:00:00+25:00", /no such date or time/],
  ] as const) {
    assert.throws(
      () => parseTime(text),
      (e: unknown) =>
        isCofferError(e, "BAD_INPUT") &&
        e.message.startsWith(`Cannot parse --time "${text}": `) &&
        why.test(e.message),
      text,
    );
  }
});
