import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRange } from "./http-range.ts";

test("parseRange() serves one byte range, a suffix, or an open end; 416 past the end; the whole file otherwise", () => {
  assert.equal(parseRange(undefined, 100), "none");
  assert.deepEqual(parseRange("bytes=0-9", 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange("bytes=90-", 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange("bytes=90-1000", 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange("bytes=-10", 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange("bytes=-1000", 100), { start: 0, end: 99 });
  assert.equal(parseRange("bytes=100-", 100), "unsatisfiable");
  assert.equal(parseRange("bytes=-0", 100), "unsatisfiable");
  assert.equal(parseRange("bytes=0-", 0), "unsatisfiable");
  assert.equal(parseRange("bytes=0-1,5-6", 100), "none");
  assert.equal(parseRange("items=0-1", 100), "none");
  assert.equal(parseRange("bytes=9-1", 100), "none");
});
