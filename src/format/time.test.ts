import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { formatTimeMs, formatTimeNs, isRfc3339, parseTimeNs } from "./time.ts";

test("formatTimeNs() writes RFC 3339 UTC with 9 digits and parseTimeNs() reverses it", () => {
  for (const ns of [0n, 1700000000123456789n, -1n, -1500000000n, 253402300799999999999n]) {
    assert.equal(parseTimeNs(formatTimeNs(ns)), ns);
  }
  assert.equal(formatTimeNs(1700000000123456789n), "2023-11-14T22:13:20.123456789Z");
  assert.equal(formatTimeNs(-1n), "1969-12-31T23:59:59.999999999Z");
  assert.equal(formatTimeMs(1000), "1970-01-01T00:00:01.000000000Z");
});

test("parseTimeNs() accepts offsets and short fractions, rejects nonsense", () => {
  assert.equal(parseTimeNs("1970-01-01T01:00:00+01:00"), 0n);
  assert.equal(parseTimeNs("1970-01-01T00:00:00.5Z"), 500000000n);
  for (const s of ["2024-02-30T00:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T24:00:00Z", "x"])
    assert.equal(isRfc3339(s), false, s);
  assert.throws(
    () => parseTimeNs("nope"),
    (e) => isCofferError(e, "BAD_INPUT"),
  );
});
