import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../core/deps.ts";
import {
  compareLocks,
  decideLock,
  decodeLock,
  encodeLock,
  isStale,
  lockKey,
  lockedError,
  type HolderAlive,
  type LockEntry,
} from "./lock-decision.ts";

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
const MIN = 60_000;
const everyoneAlive: HolderAlive = () => true;

function lock(
  key: string,
  createdAt: number,
  o: { state?: "acquiring" | "held"; refreshedAt?: number; host?: string; pid?: number } = {},
): LockEntry {
  return {
    key: `locks/prune-${key}.json`,
    info: {
      v: 1,
      kind: "prune",
      state: o.state ?? "acquiring",
      host: o.host ?? "h1",
      pid: o.pid ?? 100,
      username: "u",
      createdAt: new Date(createdAt).toISOString(),
      refreshedAt: new Date(o.refreshedAt ?? createdAt).toISOString(),
    },
  };
}

test("decideLock() proceeds when no other lock exists", () => {
  const own = lock("b", T0);
  assert.deepEqual(decideLock(own, [own], { now: T0, alive: everyoneAlive }), {
    action: "proceed",
  });
});

test("decideLock() refuses while another prune holds, whatever the creation times", () => {
  const clock = new FakeClock(T0 + 29 * MIN);
  const held = lock("z", T0 + 40 * MIN, { state: "held", refreshedAt: T0 + 5 * MIN });
  const own = lock("a", T0 + 29 * MIN);
  const d = decideLock(own, [own, held], { now: clock.now(), alive: everyoneAlive });
  assert.deepEqual(d, { action: "refuse", holder: held });
});

test("decideLock() ignores a lock not refreshed for 30 minutes (fake clock)", () => {
  const clock = new FakeClock(T0);
  const held = lock("x", T0 - 60 * MIN, { state: "held", refreshedAt: T0 - 31 * MIN });
  const own = lock("a", T0);
  assert.equal(isStale(held, { now: clock.now(), alive: everyoneAlive }), true);
  assert.deepEqual(decideLock(own, [held, own], { now: clock.now(), alive: everyoneAlive }), {
    action: "proceed",
  });
  // 29 minutes after its refresh it still counts.
  clock.set(T0 - 2 * MIN);
  assert.equal(
    decideLock(own, [held, own], { now: clock.now(), alive: everyoneAlive }).action,
    "refuse",
  );
});

test("decideLock() ignores the lock of a dead process on this host at once", () => {
  const dead = lock("x", T0 - MIN, { state: "held", host: "here", pid: 4242 });
  const other = lock("y", T0 - MIN, { state: "held", host: "there", pid: 4242 });
  const own = lock("a", T0);
  const alive: HolderAlive = (e) => !(e.info.host === "here" && e.info.pid === 4242);
  assert.equal(isStale(dead, { now: T0, alive }), true);
  assert.deepEqual(decideLock(own, [dead, own], { now: T0, alive }), { action: "proceed" });
  // The same pid on another host is not this host's business: it blocks until stale.
  assert.deepEqual(decideLock(own, [dead, other, own], { now: T0, alive }), {
    action: "refuse",
    holder: other,
  });
});

test("decideLock() breaks a tie between two deciding prunes: older createdAt, then smaller key", () => {
  const a = lock("a", T0);
  const b = lock("b", T0);
  const c = lock("c", T0 - 1);
  const clockArgs = { now: T0, alive: everyoneAlive };
  // Same instant: the smaller key wins; the winner waits for the loser to give up.
  assert.deepEqual(decideLock(b, [a, b], clockArgs), { action: "refuse", holder: a });
  assert.deepEqual(decideLock(a, [a, b], clockArgs), { action: "wait", on: [b] });
  // An older createdAt beats a smaller key.
  assert.deepEqual(decideLock(a, [a, b, c], clockArgs), { action: "refuse", holder: c });
  assert.deepEqual(decideLock(c, [a, b, c], clockArgs), { action: "wait", on: [a, b] });
  assert.ok(compareLocks(c, a) < 0 && compareLocks(a, b) < 0 && compareLocks(a, a) === 0);
});

test("decideLock() never lets two prunes both proceed, whichever listing each saw", () => {
  // Every interleaving of two prunes: each sees the other's lock or not (at least one sees it),
  // and the other is still deciding or already held.
  const a = lock("a", T0 + 5); // its clock is ahead: written first, yet the larger one
  const b = lock("b", T0);
  const args = { now: T0 + 10, alive: everyoneAlive };
  const aHeld = { ...a, info: { ...a.info, state: "held" as const } };
  // a listed before b was written: a proceeds and turns held; b then sees a deciding or held.
  assert.equal(decideLock(a, [a], args).action, "proceed");
  assert.equal(decideLock(b, [a, b], args).action, "wait"); // it must not proceed yet …
  assert.equal(decideLock(b, [aHeld, b], args).action, "refuse"); // … and refuses once a holds
  // Both saw both: exactly one proceeds after the other gave up.
  assert.equal(decideLock(a, [a, b], args).action, "refuse");
  assert.equal(decideLock(b, [b], args).action, "proceed");
});

test("lockedError() is one line naming the holder, and how to get past it", () => {
  const holder = lock("x", T0, { state: "held", host: "h2", pid: 4242, refreshedAt: T0 + 5 * MIN });
  const err = lockedError(holder);
  assert.equal(err.code, "LOCKED");
  assert.equal(
    err.message,
    'Cannot prune: another prune holds the repository (host h2, pid 4242, since 2026-11-23T10:00:00Z); if it is dead, run "coffer unlock --remove-all" or wait until it is stale (2026-11-23T10:35:00Z, 30 minutes after its last refresh)',
  );
});

test("decodeLock() reads what encodeLock() wrote and refuses anything else with one line", () => {
  const e = lock("x", T0, { state: "held" });
  assert.deepEqual(decodeLock(e.key, encodeLock(e.info)), e.info);
  assert.throws(
    () => decodeLock("locks/x", Buffer.from("{")),
    /^CofferError: Cannot read lock locks\/x: not JSON$/,
  );
  assert.throws(() => decodeLock("locks/x", Buffer.from(JSON.stringify({ ...e.info, pid: "1" }))), {
    code: "CORRUPT",
    message: "Cannot read lock locks/x: not a v1 prune lock",
  });
  assert.equal(lockKey(T0, "00ff"), "locks/prune-20261123T100000Z-00ff.json");
});
