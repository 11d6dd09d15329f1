import assert from "node:assert/strict";
import { test } from "node:test";
import type { RetentionDecision } from "./apply.ts";
import { planDeletions } from "./plan-deletions.ts";

const decision: RetentionDecision = {
  groups: [
    {
      key: "a",
      policy: "default",
      keep: [{ id: "k1", reasons: ["last snapshot"] }],
      forget: [{ id: "f2" }, { id: "f1" }],
    },
    {
      key: "b",
      policy: "default",
      keep: [{ id: "k2", reasons: ["within 7d"] }],
      forget: [{ id: "f3" }, { id: "f1" }, { id: "k1" }],
    },
  ],
};

test("planDeletions() requests each forgotten id once, skipping pending and kept ids", () => {
  assert.deepEqual(planDeletions(decision, new Set()), ["f1", "f2", "f3"]);
  assert.deepEqual(planDeletions(decision, new Set(["f2"])), ["f1", "f3"]);
});

test("planDeletions() is idempotent", () => {
  const pending = new Set<string>(["f2"]);
  const first = planDeletions(decision, pending);
  for (const id of first) pending.add(id);
  assert.deepEqual(planDeletions(decision, pending), []);
});
