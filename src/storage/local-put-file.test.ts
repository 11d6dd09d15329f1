import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { LocalStorage } from "./local.ts";

describe("LocalStorage.putFileIfAbsent() adopts a finished file without copying it", () => {
  const dir = mkdtempSync(join(tmpdir(), "coffer-putfile-"));
  const s = new LocalStorage(join(dir, "repo"));
  let n = 0;
  const file = async (bytes: Uint8Array): Promise<string> => {
    const p = join(dir, `upload-${n++}`);
    await writeFile(p, bytes, { mode: 0o600 });
    return p;
  };
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test("putFileIfAbsent() links the file into place (same inode, read-only) and get() returns its bytes", async () => {
    const body = randomBytes(100_000);
    const f = await file(body);
    assert.equal(await s.putFileIfAbsent("data/ab/obj", f), "created");
    assert.ok(Buffer.from(await s.get("data/ab/obj")).equals(body));
    const [a, b] = await Promise.all([stat(f), stat(join(s.root, "data/ab/obj"))]);
    assert.equal(a.ino, b.ino, "the object should be a hard link, not a copy");
    assert.equal(b.mode & 0o777, 0o444);
    assert.deepEqual(await s.head("data/ab/obj"), { key: "data/ab/obj", size: body.length });
  });

  test("putFileIfAbsent() reports exists and never overwrites", async () => {
    const first = await file(Buffer.from("first"));
    const second = await file(Buffer.from("second, longer"));
    assert.equal(await s.putFileIfAbsent("index/aa", first), "created");
    assert.equal(await s.putFileIfAbsent("index/aa", second), "exists");
    assert.equal(await s.putIfAbsent("index/aa", Buffer.from("third")), "exists");
    assert.equal((await readFile(join(s.root, "index/aa"))).toString(), "first");
  });

  test("putFileIfAbsent() is atomic: 10 concurrent adoptions of one key create it once", async () => {
    const bodies = Array.from({ length: 10 }, (_, i) => randomBytes(1000 + i));
    const files = await Promise.all(bodies.map(file));
    const results = await Promise.all(files.map((f) => s.putFileIfAbsent("locks/race", f)));
    const winners = results.flatMap((r, i) => (r === "created" ? [i] : []));
    assert.equal(winners.length, 1, results.join(","));
    assert.ok(Buffer.from(await s.get("locks/race")).equals(bodies[winners[0]!]!));
  });

  test("putFileIfAbsent() refuses unsafe keys, a missing file, and a key that is a directory", async () => {
    const f = await file(Buffer.from("x"));
    for (const key of ["", "a/../b", "/abs", "tmp/x"]) {
      await assert.rejects(s.putFileIfAbsent(key, f), (e: unknown) =>
        isCofferError(e, "BAD_INPUT"),
      );
    }
    await assert.rejects(
      s.putFileIfAbsent("k/missing", join(dir, "nope")),
      (e: unknown) => isCofferError(e) && /k\/missing/.test(e.message),
    );
    assert.equal(await s.putIfAbsent("d/child", Buffer.from("c")), "created");
    await assert.rejects(s.putFileIfAbsent("d", f), (e: unknown) => isCofferError(e, "CONFLICT"));
  });
});
