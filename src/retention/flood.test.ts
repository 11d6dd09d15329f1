import assert from "node:assert/strict";
import { test } from "node:test";
import { DAY_MS } from "./calendar.ts";
import { parseDuration } from "./duration.ts";
import type { KeepRules, RetentionSnapshot } from "./policy.ts";
import { PRESETS } from "./presets.ts";
import { iso, keptIds, policyOf, series, snap } from "./testing/history.ts";

// A year of daily backups at 02:00; then a compromised client commits 1000 snapshots in
// the following hour (gateway commit times 02:00:03 .. 02:59:57).
const history = series("2025-01-01T02:00:00Z", 365, DAY_MS);
const lastBackup = Date.parse("2025-12-31T02:00:00Z");
const flood: RetentionSnapshot[] = Array.from({ length: 1000 }, (_, i) =>
  snap(iso(lastBackup + 3_000 + i * 3_537)),
);
const floodEnd = flood[flood.length - 1]!.time;
const old = (ids: string[]): string[] => ids.filter((id) => Date.parse(id) <= lastBackup);

function keptOld(rules: KeepRules, extra: RetentionSnapshot[], now: number): string[] {
  return old(keptIds([...history, ...extra], policyOf(rules), { now }));
}

test("a flood of 1000 snapshots in one hour cannot push older snapshots out of keepWithin", () => {
  const rules = { keepWithin: parseDuration("30d") };
  const before = keptOld(rules, [], lastBackup);
  assert.equal(before.length, 30);
  const after = keptOld(rules, flood, floodEnd);
  assert.deepEqual(after, before);
  // And it is exactly what one legitimate backup at the same time would leave.
  assert.deepEqual(after, keptOld(rules, [snap(iso(floodEnd))], floodEnd));
});

test("a flood of 1000 snapshots in one hour cannot displace any tier's pick", () => {
  const before = keptOld(PRESETS.degressive, [], lastBackup);
  assert.equal(before.length, 34);
  const withFlood = keptIds([...history, ...flood], policyOf(PRESETS.degressive), {
    now: floodEnd,
  });
  assert.deepEqual(old(withFlood), before);
  assert.equal(withFlood.length, 34 + 1000); // the flood is itself inside "all for 7d"
  // Eight days later the flood shares Wednesday Dec 31's slot with the 02:00 backup, which
  // is older, so every flooded snapshot goes and the real backup stays.
  const week = series("2026-01-01T02:00:00Z", 8, DAY_MS);
  const later = keptIds([...history, ...flood, ...week], policyOf(PRESETS.degressive), {
    now: week[7]!.time,
  });
  assert.ok(later.includes("2025-12-29T02:00:00Z")); // Monday: slot Mon 00:00-Wed 08:00
  assert.equal(
    later.filter((id) => id.startsWith("2025-12-31T02:") && id !== "2025-12-31T02:00:00Z").length,
    0,
  );
});

test("every preset is flood-resistant", () => {
  for (const [name, rules] of Object.entries(PRESETS)) {
    const before = keptOld(rules, [], lastBackup);
    assert.deepEqual(keptOld(rules, flood, floodEnd), before, name);
  }
});

test("keepLast is not flood-resistant: 1000 snapshots push every older one out", () => {
  const rules = { keepLast: 30 };
  assert.equal(keptOld(rules, [], lastBackup).length, 30);
  assert.deepEqual(keptOld(rules, flood, floodEnd), []);
});

test("keepDaily loses the day's real backup to the flood's newest (newest-per-bucket rule)", () => {
  const rules = { keepDaily: 7 };
  const before = keptOld(rules, [], lastBackup);
  assert.equal(before.length, 7);
  const after = keptOld(rules, flood, floodEnd);
  assert.deepEqual(
    after,
    before.filter((id) => id !== "2025-12-31T02:00:00Z"),
  );
  // keepWithinDaily has the same pick; only keepWithin and tiers keep the real backup.
  assert.ok(
    !keptOld({ keepWithinDaily: parseDuration("7d") }, flood, floodEnd).includes(
      "2025-12-31T02:00:00Z",
    ),
  );
});
