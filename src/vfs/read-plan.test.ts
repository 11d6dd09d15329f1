import assert from "node:assert/strict";
import { test } from "node:test";
import { blobStarts, planRead } from "./read-plan.ts";

test("planRead() takes only the blobs a byte range covers, clipped at the end of the file", () => {
  const starts = blobStarts([10, 5, 20]);
  assert.deepEqual(starts, [0, 10, 15, 35]);
  assert.deepEqual(planRead(starts, 0, 4), [{ index: 0, start: 0, length: 4 }]);
  assert.deepEqual(planRead(starts, 8, 10), [
    { index: 0, start: 8, length: 2 },
    { index: 1, start: 0, length: 5 },
    { index: 2, start: 0, length: 3 },
  ]);
  assert.deepEqual(planRead(starts, 15, 1), [{ index: 2, start: 0, length: 1 }]);
  assert.deepEqual(planRead(starts, 30, 100), [{ index: 2, start: 15, length: 5 }]);
  assert.deepEqual(planRead(starts, 35, 10), []);
  assert.deepEqual(planRead(starts, 99, 10), []);
  assert.deepEqual(planRead(blobStarts([]), 0, 10), []);
});

test("planRead() skips empty blobs and finds the right blob in a long file", () => {
  const sizes = Array.from({ length: 1000 }, (_, i) => (i % 7 === 0 ? 0 : 100 + (i % 13)));
  const starts = blobStarts(sizes);
  for (const off of [0, 1, 777, 50_000, starts.at(-1)! - 1]) {
    const plan = planRead(starts, off, 300);
    const total = plan.reduce((n, s) => n + s.length, 0);
    assert.equal(total, Math.min(300, starts.at(-1)! - off));
    assert.ok(plan.every((s) => s.length > 0 && s.start + s.length <= sizes[s.index]!));
    assert.equal(starts[plan[0]!.index]! + plan[0]!.start, off);
  }
});
