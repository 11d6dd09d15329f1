import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { applyPolicy, EMPTY_POLICY_REASON } from "./apply.ts";
import { DAY_MS, HOUR_MS } from "./calendar.ts";
import { parseDuration } from "./duration.ts";
import type { RetentionPolicy } from "./policy.ts";
import { keptIds, policyOf, series, snap } from "./testing/history.ts";

const now = Date.parse("2025-06-30T23:00:00Z");
// Every 6 hours in June 2025 (120 snapshots), 00:00 06:00 12:00 18:00 UTC.
const june = series("2025-06-01T00:00:00Z", 120, 6 * HOUR_MS);

test("applyPolicy() keepLast keeps the newest N with reason 'last snapshot'", () => {
  const d = applyPolicy(june, policyOf({ keepLast: 3 }), { now });
  const g = d.groups[0]!;
  assert.deepEqual(
    g.keep.map((k) => [k.id, k.reasons]),
    [
      ["2025-06-30T18:00:00Z", ["last snapshot", "newest snapshot"]],
      ["2025-06-30T12:00:00Z", ["last snapshot"]],
      ["2025-06-30T06:00:00Z", ["last snapshot"]],
    ],
  );
  assert.equal(g.forget.length, 117);
  assert.equal(g.forget[0]!.id, "2025-06-30T00:00:00Z");
});

test("applyPolicy() keepDaily/Weekly/Monthly keep the newest of each bucket, like restic", () => {
  const missing = june.filter((s) => !s.id.startsWith("2025-06-29")); // no backup on Sunday 29
  const kept = keptIds(missing, policyOf({ keepDaily: 3, keepWeekly: 2, keepMonthly: 1 }), { now });
  // Days 30, 28, 27 (29 has none); weeks: Mon 30 (W27) and Sat 28 (W26); month: June 30.
  assert.deepEqual(kept, ["2025-06-27T18:00:00Z", "2025-06-28T18:00:00Z", "2025-06-30T18:00:00Z"]);
  const d = applyPolicy(missing, policyOf({ keepDaily: 3, keepWeekly: 2, keepYearly: 5 }), { now });
  const sat = d.groups[0]!.keep.find((k) => k.id === "2025-06-28T18:00:00Z");
  assert.deepEqual(sat?.reasons, ["daily snapshot", "weekly snapshot"]);
  const hourly = keptIds(june, policyOf({ keepHourly: Infinity }), { now });
  assert.equal(hourly.length, 120);
});

test("applyPolicy() keepWithin and keepWithinDaily are anchored at the newest snapshot", () => {
  const rules = { keepWithin: parseDuration("2d"), keepWithinDaily: parseDuration("5d") };
  // Backups stopped on June 30; a year later nothing has expired.
  const d = applyPolicy(june, policyOf(rules), { now: now + 365 * DAY_MS });
  const keep = d.groups[0]!.keep;
  // within 2d: t > June 28 18:00 -> 8 snapshots; daily within 5d: June 26..30 at 18:00.
  assert.equal(keep.filter((k) => k.reasons.includes("within 2d")).length, 8);
  assert.deepEqual(
    keep.filter((k) => k.reasons.includes("daily within 5d")).map((k) => k.id),
    [
      "2025-06-30T18:00:00Z",
      "2025-06-29T18:00:00Z",
      "2025-06-28T18:00:00Z",
      "2025-06-27T18:00:00Z",
      "2025-06-26T18:00:00Z",
    ],
  );
  assert.equal(keep.length, 11);
  // Anchored at now instead, a year later only the newest snapshot survives.
  const atNow = applyPolicy(june, policyOf(rules), { now: now + 365 * DAY_MS, anchor: "now" });
  assert.deepEqual(atNow.groups[0]!.keep, [
    { id: "2025-06-30T18:00:00Z", reasons: ["newest snapshot"] },
  ]);
});

test("applyPolicy() never anchors later than now (a client clock in the future)", () => {
  const future = [...june, snap("2026-01-01T00:00:00Z")];
  const kept = keptIds(future, policyOf({ keepWithin: parseDuration("1d") }), { now });
  // Window (June 29 23:00, now]: 4 snapshots, plus the future one (newest, always kept).
  assert.equal(kept.length, 5);
});

test("applyPolicy() keepTags keeps snapshots having every tag of a set", () => {
  const snaps = [
    snap("2025-01-01T00:00:00Z", { tags: ["a", "b"] }),
    snap("2025-01-02T00:00:00Z", { tags: ["a"] }),
    snap("2025-01-03T00:00:00Z", { tags: ["c"] }),
    snap("2025-01-04T00:00:00Z"),
  ];
  const d = applyPolicy(
    snaps,
    { groupBy: [], rules: { keepTags: [["a", "b"], ["c"]] }, groups: [] },
    { now },
  );
  assert.deepEqual(
    d.groups[0]!.keep.map((k) => [k.id, k.reasons]),
    [
      ["2025-01-04T00:00:00Z", ["newest snapshot"]],
      ["2025-01-03T00:00:00Z", ["tag c"]],
      ["2025-01-01T00:00:00Z", ["tag a,b"]],
    ],
  );
});

test("applyPolicy() groups by host and tag pattern and applies per-group policies", () => {
  const snaps = [
    ...series("2025-06-01T00:00:00Z", 10, DAY_MS).map((s) => ({
      ...s,
      id: `web-${s.id}`,
      host: "web1",
    })),
    ...series("2025-06-01T00:00:00Z", 10, DAY_MS).map((s) => ({
      ...s,
      id: `pg-${s.id}`,
      tags: ["db:postgres:shop", "nightly"],
    })),
    ...series("2025-06-01T12:00:00Z", 10, DAY_MS).map((s) => ({
      ...s,
      id: `my-${s.id}`,
      tags: ["db:mysql:crm"],
    })),
  ];
  const policy: RetentionPolicy = {
    groupBy: ["host", { tagPattern: "db:*" }],
    rules: { keepLast: 2 },
    groups: [{ name: "databases", match: { tagPrefix: "db:" }, rules: { keepLast: 1 } }],
  };
  const d = applyPolicy(snaps, policy, { now });
  assert.deepEqual(
    d.groups.map((g) => [g.policy, g.key, g.keep.length, g.forget.length]),
    [
      ["databases", "host=h tag:db:*=db:mysql:crm", 1, 9],
      ["databases", "host=h tag:db:*=db:postgres:shop", 1, 9],
      ["default", "host=web1 tag:db:*=", 2, 8],
    ],
  );
});

test("applyPolicy() with empty rules keeps everything", () => {
  const d = applyPolicy(june, policyOf({}), { now });
  assert.equal(d.groups[0]!.forget.length, 0);
  assert.deepEqual(d.groups[0]!.keep[5]!.reasons, [EMPTY_POLICY_REASON]);
  assert.deepEqual(applyPolicy([], policyOf({ keepLast: 1 }), { now }), { groups: [] });
});

test("applyPolicy() refuses duplicate ids, bad times and unknown time zones", () => {
  const bad = (f: () => unknown, re: RegExp): void => {
    assert.throws(f, (e) => isCofferError(e, "BAD_INPUT") && re.test(e.message));
  };
  bad(
    () => applyPolicy([june[0]!, june[0]!], policyOf({ keepLast: 1 }), { now }),
    /duplicate snapshot/,
  );
  bad(
    () => applyPolicy([{ ...june[0]!, time: NaN }], policyOf({ keepLast: 1 }), { now }),
    /invalid time/,
  );
  bad(
    () => applyPolicy(june, policyOf({ keepLast: 1 }), { now, timeZone: "Nowhere/City" }),
    /Invalid time zone/,
  );
  bad(() => applyPolicy(june, policyOf({ keepLast: 1 }), { now: NaN }), /invalid "now"/);
});
