import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import type { Snapshot } from "../../format/snapshot.ts";
import {
  findSnapshot,
  listSnapshots,
  matchesFilter,
  timeNs,
  type SnapshotSource,
} from "./find-snapshot.ts";

const snap = (
  time: string,
  host: string,
  tags: string[],
  paths: string[] = ["/srv"],
): Snapshot => ({
  v: 1,
  time,
  host,
  paths,
  tags,
  tree: "0".repeat(64),
  username: "u",
  hostname: host,
  program: "t",
  stats: {
    files: 0,
    dirs: 0,
    bytes: 0,
    newFiles: 0,
    changedFiles: 0,
    unchangedFiles: 0,
    addedBytes: 0,
    storedBytes: 0,
  },
});

function source(entries: Record<string, Snapshot>): SnapshotSource {
  return {
    listSnapshotIds: () => Promise.resolve(Object.keys(entries).sort()),
    loadSnapshot: (id) => {
      const s = entries[id];
      return s === undefined ? Promise.reject(new Error(`no ${id}`)) : Promise.resolve(s);
    },
  };
}

const id = (prefix: string): string => prefix.padEnd(64, "0");
const repo = source({
  [id("3fa1")]: snap("2026-01-02T00:00:00.000000002Z", "web1", ["daily", "files"]),
  [id("3fb2")]: snap("2026-01-02T00:00:00.000000001Z", "web1", ["daily"]),
  [id("a001")]: snap("2026-01-01T23:00:00+00:00", "db1", ["db"], ["/var/lib"]),
  [id("b002")]: snap("2026-01-03T01:00:00+02:00", "db1", ["db", "daily"]),
});

test("listSnapshots() sorts by time with nanosecond precision and time zones", async () => {
  const ids = (await listSnapshots(repo)).map((s) => s.id.slice(0, 4));
  assert.deepEqual(ids, ["a001", "3fb2", "3fa1", "b002"]);
  assert.ok(timeNs("2026-01-03T01:00:00+02:00") < timeNs("2026-01-03T00:00:00Z"));
});

test("listSnapshots() filters by host, tags (AND within a group, OR across) and paths", async () => {
  const pick = async (f: Parameters<typeof listSnapshots>[1]): Promise<string[]> =>
    (await listSnapshots(repo, f)).map((s) => s.id.slice(0, 4));
  assert.deepEqual(await pick({ host: "web1" }), ["3fb2", "3fa1"]);
  assert.deepEqual(await pick({ host: ["web1", "db1"] }), ["a001", "3fb2", "3fa1", "b002"]);
  assert.deepEqual(await pick({ tags: [["daily", "files"]] }), ["3fa1"]);
  assert.deepEqual(await pick({ tags: [["files"], ["db"]] }), ["a001", "3fa1", "b002"]);
  assert.deepEqual(await pick({ paths: ["/var/lib/"] }), ["a001"]);
  assert.deepEqual(await pick({ host: "db1", tags: [["daily"]] }), ["b002"]);
  assert.equal(matchesFilter(snap("2026-01-01T00:00:00Z", "h", []), { tags: [[]] }), true);
});

test("listSnapshots() reports unreadable snapshots to onError and skips them", async () => {
  const broken: SnapshotSource = {
    listSnapshotIds: () => Promise.resolve([id("01"), id("02")]),
    loadSnapshot: (x) =>
      x === id("01")
        ? Promise.reject(new Error("corrupt"))
        : Promise.resolve(snap("2026-01-01T00:00:00Z", "h", [])),
  };
  const bad: string[] = [];
  const got = await listSnapshots(broken, {}, { onError: (x) => bad.push(x) });
  assert.deepEqual(
    got.map((s) => s.id),
    [id("02")],
  );
  assert.deepEqual(bad, [id("01")]);
  await assert.rejects(listSnapshots(broken), /corrupt/);
});

test("findSnapshot() resolves latest (within a filter) and unique ID prefixes", async () => {
  assert.equal((await findSnapshot(repo, "latest")).id, id("b002"));
  assert.equal((await findSnapshot(repo, "latest", { host: "web1" })).id, id("3fa1"));
  assert.equal((await findSnapshot(repo, "3FA")).id, id("3fa1"));
  assert.equal((await findSnapshot(repo, id("a001"))).snapshot.host, "db1");
});

test("findSnapshot() names unknown and ambiguous references", async () => {
  await assert.rejects(
    findSnapshot(repo, "3fa2"),
    (e) =>
      isCofferError(e, "SNAPSHOT_NOT_FOUND") &&
      e.message === "Cannot find snapshot 3fa2: no such snapshot",
  );
  await assert.rejects(
    findSnapshot(repo, "3f"),
    (e) =>
      isCofferError(e, "AMBIGUOUS_ID") && /3fa10000/.test(e.message) && /3fb20000/.test(e.message),
  );
  await assert.rejects(
    findSnapshot(repo, "latest", { host: "nope" }),
    (e) => isCofferError(e, "SNAPSHOT_NOT_FOUND") && /latest/.test(e.message),
  );
  await assert.rejects(
    findSnapshot(source({}), "latest"),
    (e) => isCofferError(e, "SNAPSHOT_NOT_FOUND") && /no snapshots/.test(e.message),
  );
  await assert.rejects(findSnapshot(repo, "zz!"), (e) => isCofferError(e, "BAD_INPUT"));
});

test("findSnapshot() resolves latest~N to the Nth snapshot before the newest (within a filter)", async () => {
  assert.equal((await findSnapshot(repo, "latest~0")).id, id("b002"));
  assert.equal((await findSnapshot(repo, "latest~1")).id, id("3fa1"));
  assert.equal((await findSnapshot(repo, "latest~3")).id, id("a001"));
  assert.equal((await findSnapshot(repo, "latest~1", { host: "web1" })).id, id("3fb2"));
  await assert.rejects(
    findSnapshot(repo, "latest~4"),
    (e) =>
      isCofferError(e, "SNAPSHOT_NOT_FOUND") &&
      e.message === "Cannot find snapshot latest~4: only 4 snapshots",
  );
  await assert.rejects(findSnapshot(repo, "latest~x"), (e) => isCofferError(e, "BAD_INPUT"));
});
