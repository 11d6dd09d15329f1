import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decodeBlob, encodeBlob } from "../../format/blob.ts";
import { objectId } from "../../format/ids.ts";
import { generateMasterKey } from "../../format/master-key.ts";
import { packKey, readPackHeader } from "../../format/pack.ts";
import { deterministicRandom, pseudoRandomBytes } from "../../format/testing/deterministic-random.ts";
import { LocalStorage } from "../../storage/local.ts";
import { MemoryStorage } from "../../storage/memory.ts";
import type { Storage } from "../../storage/storage.ts";
import { RepackWriter } from "./repack-writer.ts";

const random = deterministicRandom("repack-writer");
const master = generateMasterKey(random);

/** Writes three blobs (one in a second batch), commits, and checks the stored pack. */
async function roundTrip(storage: Storage, expected: number): Promise<void> {
  const blobs = [1000, 70_000, 5].map((n, i) =>
    encodeBlob(master, "data", pseudoRandomBytes(n, i + 1), random),
  );
  const w = await RepackWriter.open(storage, "data", expected);
  for (const b of blobs.slice(0, 2)) w.add(b.id.toString("hex"), b.sealed, b.rawLength, b.flags);
  await w.drain();
  const last = blobs[2]!;
  w.add(last.id.toString("hex"), last.sealed, last.rawLength, last.flags);
  assert.equal(w.count, 3);
  const pack = await w.commit(master, random);

  const bytes = await storage.get(packKey(pack.id));
  assert.equal(pack.id, objectId(bytes), "named by the SHA-256 of its bytes");
  assert.equal(pack.size, bytes.length);
  const header = readPackHeader(master, bytes, bytes.length, pack.id);
  assert.ok("entries" in header);
  assert.deepEqual(
    header.entries.map((e) => [e.id.toString("hex"), e.offset, e.length, e.rawLength, e.flags]),
    pack.blobs,
  );
  for (const [id, offset, length, rawLength, flags] of pack.blobs)
    decodeBlob(master, "data", bytes.subarray(offset, offset + length), flags, id, rawLength);
}

test("RepackWriter.commit() stores a valid pack through a streaming backend", async () => {
  const dir = mkdtempSync(join(tmpdir(), "repack-writer-"));
  try {
    const storage = new LocalStorage(dir);
    await roundTrip(storage, 10);
    assert.deepEqual(readdirSync(join(dir, "tmp")), [], "no temp file left");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("RepackWriter.commit() stores a valid pack in memory when the buffer must grow", async () => {
  const storage = new MemoryStorage();
  assert.ok(!("createWriter" in storage), "exercises the buffered path");
  await roundTrip(storage, 0);
  await roundTrip(storage, 16 << 20);
});

test("RepackWriter.abort() leaves nothing behind", async () => {
  const dir = mkdtempSync(join(tmpdir(), "repack-writer-"));
  try {
    const storage = new LocalStorage(dir);
    const b = encodeBlob(master, "tree", Buffer.from("[]"), random);
    const w = await RepackWriter.open(storage, "tree", 100);
    w.add(b.id.toString("hex"), b.sealed, b.rawLength, b.flags);
    await w.drain();
    await w.abort();
    const left: string[] = [];
    for await (const o of storage.list("")) left.push(o.key);
    assert.deepEqual(left, []);
    assert.deepEqual(readdirSync(join(dir, "tmp")), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
