import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { isCofferError } from "../core/errors.ts";
import type { ObjectInfo, Storage } from "./storage.ts";

/** What a backend's test file hands to {@link runStorageContract}: a fresh, empty storage. */
export interface StorageFixture {
  storage: Storage;
  /** Removes everything the fixture created; called after `storage.close()`. */
  cleanup: () => Promise<void>;
}

/** Options for {@link runStorageContract}. */
export interface ContractOptions {
  /** When a string, the whole suite is skipped with that reason. */
  skip?: string | undefined;
}

async function withStorage(
  make: () => Promise<StorageFixture>,
  fn: (s: Storage) => Promise<void>,
): Promise<void> {
  const { storage, cleanup } = await make();
  try {
    await fn(storage);
  } finally {
    try {
      await storage.close?.();
    } finally {
      await cleanup();
    }
  }
}

async function collect(it: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of it) out.push(info);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

async function rejectsWith(p: Promise<unknown>, code: string, mention?: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isCofferError(err), `expected a CofferError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.ok(!err.message.includes("\n"), "error message must be one line");
    if (mention !== undefined) assert.ok(err.message.includes(mention), err.message);
    return true;
  });
}

/** Runs `fns` with at most `limit` in flight. */
async function pool(limit: number, fns: (() => Promise<unknown>)[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < fns.length) await fns[next++]!();
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Asserts byte equality whatever the concrete class (Buffer vs Uint8Array). */
function assertBytes(actual: Uint8Array, expected: Uint8Array): void {
  assert.ok(actual instanceof Uint8Array, "expected a Uint8Array");
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const e = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (!a.equals(e)) {
    assert.fail(`bytes differ: got ${a.length} bytes, expected ${e.length}`);
  }
}

/**
 * The behaviour every {@link Storage} backend must share. Call it from the backend's test
 * file with a factory that returns a fresh, empty storage per test.
 */
export function runStorageContract(
  name: string,
  makeStorage: () => Promise<StorageFixture>,
  options: ContractOptions = {},
): void {
  const test = (title: string, fn: (s: Storage) => Promise<void>): void => {
    void it(title, () => withStorage(makeStorage, fn));
  };

  void describe(`${name} storage contract`, { skip: options.skip ?? false }, () => {
    test("location is a non-empty description", async (s) => {
      assert.equal(typeof s.location, "string");
      assert.ok(s.location.length > 0);
      await Promise.resolve();
    });

    test("get() returns what putIfAbsent() stored", async (s) => {
      const body = bytes("hello, coffer");
      assert.equal(await s.putIfAbsent("config", body), "created");
      assertBytes(await s.get("config"), body);
    });

    test("get() of a missing key rejects with NOT_FOUND naming the key", async (s) => {
      await rejectsWith(s.get("snapshots/missing"), "NOT_FOUND", "snapshots/missing");
      await rejectsWith(s.get("snapshots/missing", { offset: 0, length: 4 }), "NOT_FOUND");
    });

    test("get() with a range returns exactly those bytes", async (s) => {
      const body = randomBytes(10_000);
      await s.putIfAbsent("data/ab/range", body);
      assertBytes(await s.get("data/ab/range", { offset: 0, length: 1 }), body.subarray(0, 1));
      assertBytes(
        await s.get("data/ab/range", { offset: 1234, length: 5000 }),
        body.subarray(1234, 6234),
      );
      assertBytes(await s.get("data/ab/range", { offset: 9996, length: 4 }), body.subarray(9996));
      assertBytes(await s.get("data/ab/range", { offset: 0, length: 10_000 }), body);
      assert.equal((await s.get("data/ab/range", { offset: 50, length: 0 })).length, 0);
    });

    test("get() with a range past the end is clamped to the object", async (s) => {
      const body = randomBytes(100);
      await s.putIfAbsent("data/cd/short", body);
      assertBytes(await s.get("data/cd/short", { offset: 90, length: 50 }), body.subarray(90));
      assert.equal((await s.get("data/cd/short", { offset: 100, length: 10 })).length, 0);
      assert.equal((await s.get("data/cd/short", { offset: 5000, length: 10 })).length, 0);
    });

    test("get() refuses a negative or fractional range with BAD_INPUT", async (s) => {
      await s.putIfAbsent("k", bytes("x"));
      await rejectsWith(s.get("k", { offset: -1, length: 1 }), "BAD_INPUT");
      await rejectsWith(s.get("k", { offset: 0, length: 1.5 }), "BAD_INPUT");
    });

    test("putIfAbsent() reports created, then exists, and never overwrites", async (s) => {
      assert.equal(await s.putIfAbsent("index/aa", bytes("first")), "created");
      assert.equal(await s.putIfAbsent("index/aa", bytes("second, longer")), "exists");
      assert.equal(await s.putIfAbsent("index/aa", bytes("first")), "exists");
      assertBytes(await s.get("index/aa"), bytes("first"));
    });

    test("putIfAbsent() is atomic: 20 concurrent puts of one key create it once", async (s) => {
      const bodies = Array.from({ length: 20 }, (_, i) => randomBytes(1000 + i * 37));
      const results = await Promise.all(bodies.map((b) => s.putIfAbsent("locks/race", b)));
      const winners = results.flatMap((r, i) => (r === "created" ? [i] : []));
      assert.equal(winners.length, 1, `results: ${results.join(",")}`);
      assert.equal(results.filter((r) => r === "exists").length, 19);
      assertBytes(await s.get("locks/race"), bodies[winners[0]!]!);
    });

    test("stored bytes are not aliased by the caller's buffer", async (s) => {
      const body = bytes("immutable");
      await s.putIfAbsent("alias", body);
      body.fill(0);
      const got = await s.get("alias");
      assertBytes(got, bytes("immutable"));
      got.fill(1);
      assertBytes(await s.get("alias"), bytes("immutable"));
    });

    test("createWriter(), when offered, streams pieces and commits like putIfAbsent()", async (s) => {
      if (s.createWriter === undefined) return; // optional capability
      const pieces = [randomBytes(70_000), randomBytes(0), randomBytes(1_300_000), bytes("end")];
      const w = await s.createWriter();
      await w.write(pieces.slice(0, 2));
      const second = w.write(pieces.slice(2));
      assert.equal(w.size, 70_000 + 1_300_000 + 3);
      await second;
      assert.equal(await s.head("data/ab/abc"), undefined, "nothing visible before commit");
      assert.equal(await w.commit("data/ab/abc"), "created");
      assertBytes(await s.get("data/ab/abc"), Buffer.concat(pieces));
      const again = await s.createWriter();
      await again.write([bytes("other")]);
      assert.equal(await again.commit("data/ab/abc"), "exists");
      assertBytes(await s.get("data/ab/abc"), Buffer.concat(pieces));
      const dropped = await s.createWriter();
      await dropped.write([bytes("dropped")]);
      await dropped.abort();
      await dropped.abort();
      assert.deepEqual(
        (await collect(s.list(""))).map((o) => o.key),
        ["data/ab/abc"],
      );
    });

    test("head() reports the size, or undefined when missing", async (s) => {
      await s.putIfAbsent("snapshots/one", randomBytes(4321));
      assert.deepEqual(await s.head("snapshots/one"), { key: "snapshots/one", size: 4321 });
      assert.equal(await s.head("snapshots/two"), undefined);
      // A "directory" of other keys is not itself an object.
      assert.equal(await s.head("snapshots"), undefined);
    });

    test("list() returns exactly the keys under a prefix, nested ones included", async (s) => {
      const keys = ["config", "data/00/aa", "data/00/ab", "data/01/cc", "data2", "index/ff"];
      for (const [i, k] of keys.entries()) await s.putIfAbsent(k, randomBytes(i + 1));
      const keyOf = (l: ObjectInfo[]): string[] => l.map((o) => o.key);
      assert.deepEqual(keyOf(await collect(s.list("data/"))), [
        "data/00/aa",
        "data/00/ab",
        "data/01/cc",
      ]);
      assert.deepEqual(keyOf(await collect(s.list("data/00/"))), ["data/00/aa", "data/00/ab"]);
      assert.deepEqual(keyOf(await collect(s.list("data/00/a"))), ["data/00/aa", "data/00/ab"]);
      assert.deepEqual(keyOf(await collect(s.list("data"))), [
        "data/00/aa",
        "data/00/ab",
        "data/01/cc",
        "data2",
      ]);
      assert.deepEqual(keyOf(await collect(s.list(""))), keys);
      assert.deepEqual(await collect(s.list("nothing/")), []);
      assert.deepEqual(await collect(s.list("data/02/")), []);
      const sizes = await collect(s.list("data/01/"));
      assert.deepEqual(sizes, [{ key: "data/01/cc", size: 4 }]);
    });

    test("list() returns all of 1100 keys, each once (slow on network backends)", async (s) => {
      const keys = Array.from(
        { length: 1100 },
        (_, i) =>
          `many/${(i % 16).toString(16).padStart(2, "0")}/${i.toString(16).padStart(8, "0")}`,
      );
      await pool(
        16,
        keys.map((k, i) => () => s.putIfAbsent(k, new Uint8Array(i % 7))),
      );
      await s.putIfAbsent("other/x", bytes("x"));
      const listed = await collect(s.list("many/"));
      assert.equal(listed.length, 1100);
      assert.deepEqual(
        listed.map((o) => o.key),
        [...keys].sort(),
      );
      for (const o of listed) assert.equal(o.size, Number.parseInt(o.key.slice(-8), 16) % 7);
    });

    test("delete() removes an object and is idempotent", async (s) => {
      await s.putIfAbsent("locks/l1", bytes("lock"));
      await s.delete("locks/l1");
      assert.equal(await s.head("locks/l1"), undefined);
      await rejectsWith(s.get("locks/l1"), "NOT_FOUND");
      await s.delete("locks/l1");
      await s.delete("locks/never-existed");
      await s.delete("no/such/dir/key");
      assert.deepEqual(await collect(s.list("locks/")), []);
      assert.equal(await s.putIfAbsent("locks/l1", bytes("again")), "created");
      assertBytes(await s.get("locks/l1"), bytes("again"));
    });

    test("content is binary-safe", async (s) => {
      const all = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
      const big = randomBytes(3 * 1024 * 1024 + 3);
      await s.putIfAbsent("bin/all", all);
      await s.putIfAbsent("bin/big", big);
      assertBytes(await s.get("bin/all"), all);
      assert.ok(Buffer.from(await s.get("bin/big")).equals(big));
      assert.ok(
        Buffer.from(await s.get("bin/big", { offset: 1_000_001, length: 2_000_000 })).equals(
          big.subarray(1_000_001, 3_000_001),
        ),
      );
    });

    test("empty objects are stored, listed and read back", async (s) => {
      assert.equal(await s.putIfAbsent("empty/e", new Uint8Array(0)), "created");
      assert.equal(await s.putIfAbsent("empty/e", new Uint8Array(0)), "exists");
      assert.equal((await s.get("empty/e")).length, 0);
      assert.equal((await s.get("empty/e", { offset: 0, length: 10 })).length, 0);
      assert.deepEqual(await s.head("empty/e"), { key: "empty/e", size: 0 });
      assert.deepEqual(await collect(s.list("empty/")), [{ key: "empty/e", size: 0 }]);
    });

    test("unsafe keys are refused with BAD_INPUT", async (s) => {
      const bad = ["", "/etc/passwd", "a/../b", "..", "a/./b", "a//b", "a/", "a\0b", "a\\b"];
      for (const key of bad) {
        await rejectsWith(s.putIfAbsent(key, bytes("x")), "BAD_INPUT");
        await rejectsWith(s.get(key), "BAD_INPUT");
        await rejectsWith(s.head(key), "BAD_INPUT");
        await rejectsWith(s.delete(key), "BAD_INPUT");
      }
      await rejectsWith(collect(s.list("../")), "BAD_INPUT");
      await rejectsWith(collect(s.list("/abs")), "BAD_INPUT");
      assert.deepEqual(await collect(s.list("")), []);
    });

    test("keys may use any UTF-8 characters in their segments", async (s) => {
      const key = "tags/été 日本 +=,;@";
      assert.equal(await s.putIfAbsent(key, bytes("u")), "created");
      assertBytes(await s.get(key), bytes("u"));
      assert.deepEqual(await collect(s.list("tags/")), [{ key, size: 1 }]);
    });
  });
}
