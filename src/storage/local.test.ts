import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FakeClock } from "../core/deps.ts";
import { isCofferError } from "../core/errors.ts";
import { runStorageContract } from "./contract.ts";
import { LocalStorage, type LocalStorageOptions } from "./local.ts";

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), "coffer-local-"));
}

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await tempRoot();
  try {
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

runStorageContract("LocalStorage", async () => {
  const root = await tempRoot();
  return {
    storage: new LocalStorage(join(root, "repo")),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

const systemError = (code: string, syscall: string): Error =>
  Object.assign(new Error(`${code}: simulated, ${syscall}`), { code, syscall });

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test("LocalStorage maps keys to files under the root and keeps tmp/ empty", async () => {
  await withRoot(async (root) => {
    const s = new LocalStorage(root);
    const id = "ab".padEnd(64, "0");
    assert.equal(await s.putIfAbsent(`data/ab/${id}`, enc("pack")), "created");
    assert.equal((await stat(join(root, "data", "ab", id))).size, 4);
    assert.deepEqual(await readdir(join(root, "tmp")), []);
    assert.equal(s.location, `local:${root}`);
  });
});

test("LocalStorage leaves nothing under the final name when a write fails midway", async () => {
  await withRoot(async (root) => {
    const failing: LocalStorageOptions = {
      io: {
        // Write half the body for real, then fail as a full disk would.
        async write(handle, body) {
          await handle.write(body, 0, body.length >> 1, 0);
          throw systemError("ENOSPC", "write");
        },
      },
    };
    const s = new LocalStorage(root, failing);
    const key = "data/cd/halfwritten";
    await assert.rejects(s.putIfAbsent(key, new Uint8Array(100_000).fill(7)), (err: unknown) => {
      assert.ok(isCofferError(err, "NO_SPACE"));
      assert.equal(err.message, `Cannot store ${key} in local:${root}: no space left on device`);
      return true;
    });
    const fresh = new LocalStorage(root);
    assert.equal(await fresh.head(key), undefined);
    assert.deepEqual(await readdir(join(root, "tmp")), []);
    // Nothing was lost: the same put now succeeds in full.
    assert.equal(await fresh.putIfAbsent(key, new Uint8Array(100_000).fill(7)), "created");
    assert.equal((await fresh.get(key)).length, 100_000);
  });
});

test("LocalStorage leaves nothing behind when fsync fails before linking", async () => {
  await withRoot(async (root) => {
    const s = new LocalStorage(root, {
      io: {
        sync() {
          return Promise.reject(systemError("EIO", "fsync"));
        },
      },
    });
    await assert.rejects(s.putIfAbsent("index/ee", enc("index")), (err: unknown) => {
      assert.ok(isCofferError(err, "IO"));
      assert.match(err.message, /^Cannot store index\/ee in local:.*: EIO: simulated, fsync$/);
      return true;
    });
    assert.equal(await s.head("index/ee"), undefined);
    assert.deepEqual(await readdir(join(root, "tmp")), []);
  });
});

test("LocalStorage names the key in a one-line permission error", async () => {
  await withRoot(async (root) => {
    for (const code of ["EACCES", "EROFS"]) {
      const s = new LocalStorage(root, {
        io: {
          link() {
            return Promise.reject(systemError(code, "link"));
          },
        },
      });
      await assert.rejects(s.putIfAbsent("snapshots/s1", enc("snap")), (err: unknown) => {
        assert.ok(isCofferError(err, "PERMISSION_DENIED"));
        assert.equal(err.message, `Cannot store snapshots/s1 in local:${root}: permission denied`);
        return true;
      });
      assert.equal(await s.head("snapshots/s1"), undefined);
    }
  });
});

test("LocalStorage reports a root that is a file as a one-line IO error", async () => {
  await withRoot(async (root) => {
    const file = join(root, "not-a-dir");
    await writeFile(file, "x");
    const s = new LocalStorage(file);
    await assert.rejects(s.putIfAbsent("config", enc("c")), (err: unknown) => {
      assert.ok(isCofferError(err));
      assert.ok(err.message.startsWith("Cannot store config in local:"), err.message);
      assert.ok(!err.message.includes("\n"));
      return true;
    });
    await assert.rejects(s.get("config"), (err: unknown) => isCofferError(err, "NOT_FOUND"));
  });
});

test("LocalStorage refuses keys under the reserved tmp/ directory", async () => {
  await withRoot(async (root) => {
    const s = new LocalStorage(root);
    for (const key of ["tmp", "tmp/x"]) {
      await assert.rejects(s.putIfAbsent(key, enc("x")), (err: unknown) =>
        isCofferError(err, "BAD_INPUT"),
      );
    }
    assert.equal(await s.putIfAbsent("tmpfoo/x", enc("x")), "created");
  });
});

test("LocalStorage reports a directory name collision as CONFLICT", async () => {
  await withRoot(async (root) => {
    const s = new LocalStorage(root);
    await s.putIfAbsent("a/b", enc("x"));
    await assert.rejects(s.putIfAbsent("a", enc("y")), (err: unknown) =>
      isCofferError(err, "CONFLICT"),
    );
    await assert.rejects(s.get("a"), (err: unknown) => isCofferError(err, "NOT_FOUND"));
    await s.delete("a");
    assert.deepEqual(await s.head("a/b"), { key: "a/b", size: 1 });
  });
});

test("LocalStorage: two instances on one root race 20 puts and one wins", async () => {
  await withRoot(async (root) => {
    const a = new LocalStorage(root);
    const b = new LocalStorage(root);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).putIfAbsent("k/race", enc(`v${i}`))),
    );
    assert.equal(results.filter((r) => r === "created").length, 1);
  });
});

test("cleanupTemp() removes stale temp files, keeps fresh ones, and list() ignores tmp/", async () => {
  await withRoot(async (root) => {
    const clock = new FakeClock(Date.now());
    const s = new LocalStorage(root, { clock });
    await s.putIfAbsent("config", enc("c"));
    await writeFile(join(root, "tmp", "stale"), "partial");
    await writeFile(join(root, "tmp", "fresh"), "partial");
    const old = new Date(clock.now() - 2 * 24 * 3600 * 1000);
    await utimes(join(root, "tmp", "stale"), old, old);
    const listed: string[] = [];
    for await (const o of s.list("")) listed.push(o.key);
    assert.deepEqual(listed, ["config"]);
    assert.equal(await s.cleanupTemp(), 1);
    assert.deepEqual(await readdir(join(root, "tmp")), ["fresh"]);
    clock.advance(2 * 24 * 3600 * 1000);
    assert.equal(await s.cleanupTemp(), 1);
    assert.equal(await new LocalStorage(join(root, "missing")).cleanupTemp(), 0);
  });
});

test("cleanupTemp() removes a dead writer's temp files at once, by the PID in their name, and keeps live writers'", async () => {
  await withRoot(async (root) => {
    const owner = { tag: "0123456789ab", pid: 100 };
    const alive = new Set([100, 200]);
    const s = new LocalStorage(root, { owner, isAlive: (pid) => alive.has(pid) });
    // Our own temp names carry the owner: a write in progress shows up as <tag>-100-<hex>.
    const w = await s.createWriter();
    await w.write([enc("half a pack")]);
    const names = await readdir(join(root, "tmp"));
    assert.equal(names.length, 1);
    assert.match(names[0] ?? "", /^0123456789ab-100-[0-9a-f]{32}$/);
    for (const n of ["0123456789ab-200-aa", "0123456789ab-300-bb", "ba9876543210-300-cc"])
      await writeFile(join(root, "tmp", n), "partial");
    // 300 is dead here; 200 is alive; "ba98…" is another machine (only the age rule applies).
    assert.equal(await s.cleanupTemp(), 1);
    assert.deepEqual(
      (await readdir(join(root, "tmp"))).sort(),
      [names[0], "0123456789ab-200-aa", "ba9876543210-300-cc"].sort(),
    );
    assert.equal(await w.commit("data/aa/obj"), "created");
    assert.equal(Buffer.from(await s.get("data/aa/obj")).toString(), "half a pack");
  });
});
