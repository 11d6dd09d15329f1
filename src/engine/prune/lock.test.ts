import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { unlinkSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FakeClock } from "../../core/deps.ts";
import { CofferError } from "../../core/errors.ts";
import { seededRandom } from "../testing/fixtures.ts";
import { MemoryStorage } from "../../storage/memory.ts";
import { LocalStorage } from "../../storage/local.ts";
import type { Storage } from "../../storage/storage.ts";
import { forgetSnapshots } from "./forget.ts";
import { assertIntact, pruneFixture, type PruneFixture } from "../testing/prune-fixture.ts";
import { decodeLock, encodeLock, lockKey, type LockInfo } from "./lock-decision.ts";
import { acquirePruneLock, listLocks } from "./lock.ts";
import { unlock } from "./unlock.ts";
import { prune } from "./prune.ts";
import { Repository } from "../repository/index.ts";

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
const MIN = 60_000;
const ZERO = { kind: "percent", value: 0 } as const;

/** Storage that records every write (`put key` / `delete key`) and can run a hook first. */
class Recording implements Storage {
  readonly writes: string[] = [];
  hook: (op: "get" | "put" | "delete", key: string) => Promise<void> = () => Promise.resolve();
  constructor(readonly inner: Storage) {}
  get location(): string {
    return this.inner.location;
  }
  async get(key: string, range?: { offset: number; length: number }): Promise<Uint8Array> {
    await this.hook("get", key);
    return this.inner.get(key, range);
  }
  async putIfAbsent(key: string, body: Uint8Array): Promise<"created" | "exists"> {
    await this.hook("put", key);
    this.writes.push(`put ${key}`);
    return this.inner.putIfAbsent(key, body);
  }
  /** Called with every `head` answer. */
  onHead: (key: string, found: boolean) => void = () => undefined;
  async head(key: string): ReturnType<Storage["head"]> {
    const r = await this.inner.head(key);
    this.onHead(key, r !== undefined);
    return r;
  }
  list(prefix: string): AsyncIterable<{ key: string; size: number }> {
    return this.inner.list(prefix);
  }
  async delete(key: string): Promise<void> {
    await this.hook("delete", key);
    this.writes.push(`delete ${key}`);
    return this.inner.delete(key);
  }
}

/** Three snapshots, the first two forgotten: a prune repacks, rewrites a manifest and plans. */
async function scenario(): Promise<PruneFixture> {
  const fx = await pruneFixture();
  fx.write("a.bin", "a", 90_000);
  fx.write("b.bin", "b", 90_000);
  const s1 = await fx.snap(T0);
  fx.write("b.bin", "b2", 80_000);
  fx.write("c.bin", "c", 60_000);
  const s2 = await fx.snap(T0 + 1000);
  unlinkSync(join(fx.src, "a.bin"));
  await fx.snap(T0 + 2000);
  await forgetSnapshots(await fx.open(), [s1, s2]);
  fx.expected.delete(s1);
  fx.expected.delete(s2);
  return fx;
}

function foreignLock(o: { refreshedAt: number; host?: string; pid?: number }): LockInfo {
  return {
    v: 1,
    kind: "prune",
    state: "held",
    host: o.host ?? "h2",
    pid: o.pid ?? 4242,
    username: "backup",
    createdAt: new Date(o.refreshedAt - 10 * MIN).toISOString(),
    refreshedAt: new Date(o.refreshedAt).toISOString(),
  };
}

const pruneOpts = { graceMs: 1000, maxUnused: ZERO, repackSmall: true, lock: { pollMs: 5 } };

test("prune() twice at once on one repository: one proceeds, the other refuses in one line and writes only its own lock", async () => {
  const fx = await scenario();
  try {
    const a = new Recording(new LocalStorage(fx.repoDir));
    const b = new Recording(new LocalStorage(fx.repoDir));
    const results = await Promise.allSettled([
      prune(await fx.open(a), { ...pruneOpts, now: T0 + 10_000 }),
      prune(await fx.open(b), { ...pruneOpts, now: T0 + 10_000 }),
    ]);
    const won = results.findIndex((r) => r.status === "fulfilled");
    const lost = results.find((r) => r.status === "rejected");
    assert.ok(won >= 0 && lost !== undefined, "exactly one proceeds");
    const err: unknown = lost.reason;
    assert.ok(err instanceof CofferError && err.code === "LOCKED");
    assert.match(
      err.message,
      /^Cannot prune: another prune holds the repository \(host [^,]+, pid \d+, since \S+Z\); if it is dead, run "coffer unlock --remove-all" or wait until it is stale \(\S+Z, 30 minutes after its last refresh\)$/,
    );
    const loser = won === 0 ? b : a;
    assert.ok(
      loser.writes.every((w) => w.startsWith("put locks/") || w.startsWith("delete locks/")),
    );
    const winner = won === 0 ? a : b;
    assert.ok(
      winner.writes.some((w) => w.startsWith("put prune/")),
      "the winner planned",
    );
    assert.deepEqual((await listLocks(a)).locks, [], "both locks are gone");
    await assertIntact(fx, "after two concurrent prunes");
  } finally {
    fx.remove();
  }
});

test("acquirePruneLock() lets exactly one of three simultaneous prunes proceed, over many interleavings", async () => {
  const clock = new FakeClock(T0);
  for (let round = 0; round < 30; round++) {
    const storage = new MemoryStorage();
    const jitter = seededRandom(`jitter ${String(round)}`);
    // Each storage call yields a seeded number of macrotask turns: varied interleavings.
    const slow = new Recording(storage);
    slow.hook = async () => {
      const turns = (jitter(1)[0] ?? 0) % 4;
      for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
    };
    const take = (host: string) =>
      acquirePruneLock(slow, {
        clock,
        random: seededRandom(`${host} ${String(round)}`),
        owner: { host, pid: 1, username: "u" },
        pollMs: 1,
      });
    const r = await Promise.allSettled([take("h1"), take("h2"), take("h3")]);
    const held = r.filter((x) => x.status === "fulfilled");
    assert.equal(held.length, 1, `round ${String(round)}: exactly one holds`);
    for (const x of r)
      if (x.status === "rejected") assert.equal((x.reason as CofferError).code, "LOCKED");
    const { locks } = await listLocks(storage);
    assert.equal(locks.length, 1);
    assert.equal(locks[0]?.info.state, "held");
    await held[0]?.value.release();
    assert.deepEqual((await listLocks(storage)).locks, []);
  }
});

test("prune() is not blocked by a lock unrefreshed for 31 minutes or by a dead process on this host, and leaves them", async () => {
  const fx = await scenario();
  try {
    const clock = new FakeClock(T0 + 60 * MIN);
    const storage = new LocalStorage(fx.repoDir);
    const old = lockKey(T0, "aa");
    await storage.putIfAbsent(
      old,
      encodeLock(foreignLock({ refreshedAt: clock.now() - 31 * MIN })),
    );
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid;
    const dead = lockKey(T0, "bb");
    await storage.putIfAbsent(
      dead,
      encodeLock(foreignLock({ refreshedAt: clock.now(), host: hostname(), pid: deadPid })),
    );
    const repo = await Repository.open(storage, "pw", { clock });
    const r = await prune(repo, { ...pruneOpts, now: T0 + 10_000 });
    assert.ok(r.plan !== undefined, "the prune ran");
    assert.deepEqual(
      (await listLocks(storage)).locks.map((l) => l.key),
      [old, dead],
      "prune ignores stale locks; unlock removes them",
    );
  } finally {
    fx.remove();
  }
});

test("prune() refuses while a live lock of another host exists, and writes only its own lock", async () => {
  const fx = await scenario();
  try {
    const clock = new FakeClock(T0 + 60 * MIN);
    const rec = new Recording(new LocalStorage(fx.repoDir));
    const live = lockKey(T0, "cc");
    await rec.inner.putIfAbsent(
      live,
      encodeLock(foreignLock({ refreshedAt: clock.now() - 29 * MIN })),
    );
    const repo = await Repository.open(rec, "pw", { clock });
    await assert.rejects(prune(repo, { ...pruneOpts, now: T0 + 10_000 }), {
      code: "LOCKED",
      message: /\(host h2, pid 4242, since 2026-11-23T10:21:00Z\).*stale \(2026-11-23T11:01:00Z,/,
    });
    assert.equal(rec.writes.length, 2);
    assert.match(rec.writes[0] ?? "", /^put locks\/prune-/);
    assert.equal(rec.writes[1], rec.writes[0]?.replace("put", "delete"));
    assert.deepEqual(
      (await listLocks(rec)).locks.map((l) => l.key),
      [live],
    );
  } finally {
    fx.remove();
  }
});

test("prune() refreshes its lock while it runs (new object, same createdAt) and removes it at the end", async () => {
  const fx = await scenario();
  try {
    const clock = new FakeClock(T0);
    const rec = new Recording(new LocalStorage(fx.repoDir));
    let refreshed: () => void = () => undefined;
    const refreshedOnce = new Promise<void>((r) => (refreshed = r));
    let lockPuts = 0;
    let waited = false;
    rec.hook = async (op, key) => {
      if (op === "put" && key.startsWith("locks/") && ++lockPuts === 3) refreshed();
      if (op === "put" && key.startsWith("prune/") && !waited) {
        // Hold the prune before its plan until the timer has refreshed the lock.
        waited = true;
        clock.advance(5 * MIN);
        await refreshedOnce;
      }
    };
    const repo = await Repository.open(rec, "pw", { clock });
    await prune(repo, { ...pruneOpts, now: T0 + 10_000, lock: { refreshMs: 5 } });
    const lockWrites = rec.writes.filter((w) => w.includes(" locks/"));
    // acquiring, held, then at least one refresh: put new, delete old; all removed at the end.
    assert.ok(lockWrites.length >= 6, lockWrites.join("\n"));
    const puts = lockWrites.filter((w) => w.startsWith("put")).map((w) => w.slice(4));
    for (const k of puts) assert.ok(lockWrites.includes(`delete ${k}`), `${k} removed`);
    assert.ok(
      lockWrites.indexOf(`put ${puts[2] ?? ""}`) < lockWrites.indexOf(`delete ${puts[1] ?? ""}`),
    );
    assert.deepEqual((await listLocks(rec)).locks, []);
  } finally {
    fx.remove();
  }
});

test("prune() stops with one line when its lock is removed meanwhile, and the repository stays whole", async () => {
  const fx = await scenario();
  try {
    const rec = new Recording(new LocalStorage(fx.repoDir));
    let removed = false;
    let noticed = false;
    rec.onHead = (key, found) => {
      if (removed && key.startsWith("locks/") && !found) noticed = true;
    };
    rec.hook = async (op, key) => {
      if (op === "put" && key.startsWith("data/") && !removed) {
        // `coffer unlock --remove-all` from elsewhere (again, should a refresh race it),
        // until a refresh finds the lock gone.
        removed = true;
        while (!noticed) {
          await unlock(rec.inner, { now: Date.now(), removeAll: true });
          await new Promise((r) => setTimeout(r, 5));
        }
        await new Promise((r) => setImmediate(r));
      }
    };
    await assert.rejects(
      prune(await fx.open(rec), { ...pruneOpts, now: T0 + 10_000, lock: { refreshMs: 5 } }),
      {
        code: "LOCKED",
        message:
          /^Prune stopped: its lock locks\/prune-\S+ was removed \(coffer unlock --remove-all\?\); the repository is whole, run prune again$/,
      },
    );
    await assertIntact(fx, "after a lost lock");
    await prune(await fx.open(), { ...pruneOpts, now: T0 + 20_000 });
    await assertIntact(fx, "after the next prune");
  } finally {
    fx.remove();
  }
});

test("prune() interrupted by its signal stops at the next storage step and releases its lock", async () => {
  const fx = await scenario();
  try {
    const rec = new Recording(new LocalStorage(fx.repoDir));
    const ac = new AbortController();
    rec.hook = (op, key) => {
      if (op === "put" && key.startsWith("manifests/")) ac.abort();
      return Promise.resolve();
    };
    await assert.rejects(
      prune(await fx.open(rec), { ...pruneOpts, now: T0 + 10_000, signal: ac.signal }),
      { code: "INTERRUPTED", message: /^Prune interrupted: the repository is whole/ },
    );
    assert.deepEqual((await listLocks(rec)).locks, []);
    await assertIntact(fx, "after an interrupted prune");
  } finally {
    fx.remove();
  }
});

test("unlock() removes stale and unreadable locks, keeps live ones, and with removeAll removes them too", async () => {
  const storage = new MemoryStorage();
  const now = T0 + 60 * MIN;
  const stale = lockKey(T0, "01");
  const live = lockKey(T0, "02");
  await storage.putIfAbsent(stale, encodeLock(foreignLock({ refreshedAt: now - 31 * MIN })));
  await storage.putIfAbsent(live, encodeLock(foreignLock({ refreshedAt: now - MIN })));
  await storage.putIfAbsent("locks/prune-garbage.json", Buffer.from("{"));
  await storage.putIfAbsent("locks/other-tool", Buffer.from("x"));
  const r = await unlock(storage, { now });
  assert.deepEqual(
    r.removed.map((e) => e.key),
    [stale],
  );
  assert.deepEqual(
    r.kept.map((e) => e.key),
    [live],
  );
  assert.deepEqual(r.unreadable, ["locks/prune-garbage.json"]);
  assert.equal(decodeLock(live, await storage.get(live)).host, "h2");
  const all = await unlock(storage, { now, removeAll: true });
  assert.deepEqual(
    all.removedLive.map((e) => e.key),
    [live],
  );
  assert.deepEqual((await listLocks(storage)).locks, []);
  assert.ok((await storage.head("locks/other-tool")) !== undefined, "not a coffer lock: kept");
});
