import assert from "node:assert/strict";
import { test } from "node:test";
import type { CheckReport } from "./report.ts";
import { repairAdvice } from "./advice.ts";

type Input = Pick<CheckReport, "problems" | "damagedPacks" | "affected" | "unreferencedPacks">;
const none: Input = { problems: [], damagedPacks: [], affected: [], unreferencedPacks: [] };
const steps = (r: Partial<Input>): string[] =>
  repairAdvice({ ...none, ...r }).map((s) => s.command);
const pack = (problem: string): Input["damagedPacks"][number] => ({
  id: "aa".repeat(32),
  problem,
  blobs: [],
  snapshots: [],
  files: [],
});
const err = (object: string, message: string): Input["problems"][number] => ({
  severity: "error",
  object,
  message,
});

test("repairAdvice() names the repair commands in order for each kind of damage", () => {
  assert.deepEqual(steps({}), []);
  assert.deepEqual(
    steps({
      problems: [err("index 3fa1c2d4", "Cannot open index 3fa1c2d4: authentication failed")],
    }),
    ["coffer repair index"],
  );
  const lostFile = {
    id: "s1",
    paths: [{ path: "/a", reason: "blob x in pack y is damaged", packs: ["y"] }],
  };
  assert.deepEqual(steps({ damagedPacks: [pack("pack is missing")], affected: [lostFile] }), [
    "coffer repair index",
    "coffer backup <the same paths>",
    "coffer repair snapshots --forget",
  ]);
  assert.deepEqual(
    steps({ damagedPacks: [pack("1 of 4 blobs fail authentication (x)")], affected: [lostFile] }),
    [
      "coffer repair index --read-all-packs",
      "coffer backup <the same paths>",
      "coffer repair snapshots --forget",
    ],
  );
  assert.deepEqual(
    steps({ affected: [{ id: "s2", unreadable: "Cannot open snapshot s2", paths: [] }] }),
    ["coffer repair snapshots --forget"],
  );
  // Blobs no index names: an index deleted (its packs are stored, unindexed) ...
  const unindexed = {
    id: "s3",
    paths: [{ path: "/b", reason: "blob z is not in any index", packs: [] }],
  };
  assert.deepEqual(steps({ affected: [unindexed], unreferencedPacks: ["p"] }), [
    "coffer repair index",
  ]);
  // ... or lost for good (repair index already dropped the missing pack).
  assert.deepEqual(steps({ affected: [unindexed] }), [
    "coffer backup <the same paths>",
    "coffer repair snapshots --forget",
  ]);
  assert.deepEqual(
    steps({
      problems: [err("manifest 1", "manifest 1 of snapshot 2 omits 1 referenced pack(s): p")],
    }),
    ["coffer repair snapshots"],
  );
  assert.deepEqual(
    steps({
      problems: [
        err(
          "snapshot s4",
          "snapshot s4 needs pack p, which the gateway's garbage collection destroyed",
        ),
      ],
    }),
    ["coffer backup <the same paths>", "coffer repair snapshots --forget"],
  );
});
