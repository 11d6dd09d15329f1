import assert from "node:assert/strict";
import { test } from "node:test";
import type { FoundSnapshot } from "../engine/browse/index.ts";
import type { Snapshot } from "../format/snapshot.ts";
import { buildLayout, localTimeFormatter } from "./layout.ts";

export function snap(id: string, time: string, host: string, tags: string[] = []): FoundSnapshot {
  const snapshot = {
    v: 1,
    time,
    host,
    tags,
    paths: ["/src"],
    tree: "ab".repeat(32),
  } as unknown as Snapshot;
  return { id, snapshot };
}

const utc = localTimeFormatter(() => 0);

test("localTimeFormatter() names a time in the given zone", () => {
  const ns = BigInt(Date.UTC(2026, 11, 4, 18, 12, 51)) * 1_000_000n + 123n;
  assert.equal(utc(ns), "2026-12-04T18:12:51Z");
  assert.equal(localTimeFormatter(() => 60)(ns), "2026-12-04T19:12:51+01:00");
  assert.equal(localTimeFormatter(() => -330)(ns), "2026-12-04T12:42:51-05:30");
});

test("buildLayout() names snapshots by time, suffixes same-second ones, and points shortcuts at the newest", () => {
  const L = buildLayout(
    [
      snap("aaaa1111" + "0".repeat(56), "2026-01-01T10:00:00.1Z", "web", ["daily"]),
      snap("aaaa1111" + "1".repeat(56), "2026-01-01T10:00:00.5Z", "db", ["daily", "db"]),
      snap("bbbb2222" + "0".repeat(56), "2026-01-02T10:00:00Z", "web", ["a/b"]),
    ],
    utc,
  );
  assert.deepEqual(
    L.snapshots.map((s) => s.name),
    ["2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z-1", "2026-01-02T10:00:00Z"],
  );
  // the first two IDs share 8 characters: aliases are long enough to tell them apart
  assert.deepEqual(
    L.snapshots.map((s) => s.alias),
    ["aaaa11110", "aaaa11111", "bbbb22220"],
  );
  assert.equal(L.latest?.name, "2026-01-02T10:00:00Z");
  assert.equal(L.hosts.get("web")?.name, "2026-01-02T10:00:00Z");
  assert.equal(L.hosts.get("db")?.name, "2026-01-01T10:00:00Z-1");
  assert.equal(L.tags.get("daily")?.name, "2026-01-01T10:00:00Z-1");
  assert.ok(!L.tags.has("a/b"), "a tag that cannot be a file name is left out");
  assert.equal(buildLayout([], utc).latest, undefined);
});
