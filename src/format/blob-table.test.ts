import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { BlobTable } from "./blob-table.ts";
import { tsWorker } from "./testing/ts-worker.ts";

const id = (i: number) => createHash("sha256").update(String(i)).digest();
const pack = (i: number) =>
  createHash("sha256")
    .update(`p${i % 7}`)
    .digest("hex");

function fill(t: BlobTable, n: number): void {
  for (let i = 0; i < n; i++) {
    t.add(i % 5 === 0 ? "tree" : "data", id(i), {
      packId: pack(i),
      offset: i * 10,
      length: i + 32,
      rawLength: i,
      flags: i & 1,
    });
  }
}

test("BlobTable stores and finds locations by (type, id), growing by rehash", () => {
  const t = new BlobTable(16);
  fill(t, 5000);
  assert.equal(t.size, 5000);
  assert.equal(t.packIds.length, 7);
  for (let i = 0; i < 5000; i += 97) {
    const type = i % 5 === 0 ? "tree" : "data";
    assert.deepEqual(t.get(type, id(i)), {
      type,
      packId: pack(i),
      packIndex: t.packIds.indexOf(pack(i)),
      offset: i * 10,
      length: i + 32,
      rawLength: i,
      flags: i & 1,
    });
    assert.equal(t.has(type, id(i).toString("hex")), true);
    assert.equal(t.has(type === "tree" ? "data" : "tree", id(i)), false);
  }
  assert.equal(t.get("data", id(99999)), undefined);
  assert.ok(t.byteSize / t.size < 120, `${t.byteSize / t.size} bytes per blob`);
  assert.equal([...t.entries()].length, 5000);
});

test("BlobTable.add() keeps the first location of a duplicate", () => {
  const t = new BlobTable();
  assert.equal(
    t.add("data", id(1), { packId: pack(1), offset: 1, length: 40, rawLength: 8, flags: 0 }),
    true,
  );
  assert.equal(
    t.add("data", id(1), { packId: pack(2), offset: 2, length: 40, rawLength: 8, flags: 0 }),
    false,
  );
  assert.equal(t.get("data", id(1))?.offset, 1);
  assert.throws(
    () => t.has("data", "abc"),
    (e) => isCofferError(e, "BAD_INPUT"),
  );
});

test("BlobTable.fromShared() gives a read-only view usable in a worker thread", async () => {
  const t = new BlobTable();
  fill(t, 2000);
  const local = BlobTable.fromShared(t.toShared());
  assert.equal(local.get("data", id(7))?.offset, 70);
  assert.throws(
    () =>
      local.add("data", id(1), { packId: pack(1), offset: 0, length: 32, rawLength: 0, flags: 0 }),
    (e) => isCofferError(e, "BAD_INPUT"),
  );
  const url = new URL(
    import.meta.url.endsWith(".ts")
      ? "./testing/blob-table-worker.ts"
      : "./testing/blob-table-worker.js",
    import.meta.url,
  );
  const w = tsWorker(url, { workerData: { handle: t.toShared(), n: 2000 } });
  const msg = await new Promise((resolve, reject) => {
    w.once("message", resolve);
    w.once("error", reject);
  });
  await w.terminate();
  assert.deepEqual(msg, { found: 2000, missing: false, off: 70 });
});
