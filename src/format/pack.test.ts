import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { decodeBlob, encodeBlob } from "./blob.ts";
import { objectId } from "./ids.ts";
import { generateMasterKey } from "./master-key.ts";
import { PACK_ENTRY_LENGTH, PackBuilder, packKey, readPackHeader } from "./pack.ts";
import { deterministicRandom, pseudoRandomBytes } from "./testing/deterministic-random.ts";

const random = deterministicRandom("pack");
const master = generateMasterKey(random);

function buildPack(n: number) {
  const pb = new PackBuilder("data");
  const raws = Array.from({ length: n }, (_, i) =>
    i % 2 ? pseudoRandomBytes(500 + i, i + 1) : Buffer.alloc(3000 + i, i),
  );
  for (const r of raws) pb.add(encodeBlob(master, "data", r, random));
  return { raws, pack: pb.finish(master, random), size: pb.size };
}

test("PackBuilder.finish() lays out blobs, sealed header and its length", () => {
  const { raws, pack, size } = buildPack(5);
  assert.equal(pack.id, objectId(pack.bytes));
  assert.equal(packKey(pack.id), `data/${pack.id.slice(0, 2)}/${pack.id}`);
  const hlen = Buffer.from(pack.bytes).readUInt32LE(pack.bytes.length - 4);
  assert.equal(hlen, 5 * PACK_ENTRY_LENGTH + 32);
  assert.equal(pack.bytes.length, size + hlen + 4);
  const r = readPackHeader(master, pack.bytes, pack.bytes.length, pack.id);
  assert.ok("entries" in r);
  assert.equal(r.type, "data");
  assert.deepEqual(r.entries, pack.entries);
  r.entries.forEach((e, i) => {
    const sealed = pack.bytes.subarray(e.offset, e.offset + e.length);
    assert.deepEqual(decodeBlob(master, "data", sealed, e.flags, e.id, e.rawLength), raws[i]);
  });
});

test("readPackHeader() on a short tail says how many bytes it needs", () => {
  const { pack } = buildPack(40);
  const total = pack.bytes.length;
  assert.deepEqual(readPackHeader(master, new Uint8Array(0), total), { need: 4 });
  const r = readPackHeader(master, pack.bytes.subarray(total - 100), total, pack.id);
  assert.ok("need" in r);
  assert.equal(r.need, 40 * PACK_ENTRY_LENGTH + 32 + 4);
  const full = readPackHeader(master, pack.bytes.subarray(total - r.need), total, pack.id);
  assert.ok("entries" in full && full.entries.length === 40);
});

test("readPackHeader() names the pack when the header is tampered with or sizes disagree", () => {
  const { pack } = buildPack(3);
  const bad = Buffer.from(pack.bytes);
  bad[bad.length - 10]! ^= 1;
  assert.throws(
    () => readPackHeader(master, bad, bad.length, pack.id),
    (e) =>
      isCofferError(e, "CORRUPT") &&
      e.message === `Cannot open pack ${pack.id.slice(0, 8)}: header authentication failed`,
  );
  assert.throws(
    () => readPackHeader(master, pack.bytes.subarray(1), pack.bytes.length + 5, pack.id),
    (e) => isCofferError(e, "CORRUPT") && /blobs cover/.test(e.message),
  );
  const len = Buffer.from(pack.bytes);
  len.writeUInt32LE(0xffffff, len.length - 4);
  assert.throws(
    () => readPackHeader(master, len, len.length, pack.id),
    (e) => isCofferError(e, "CORRUPT") && /invalid header length/.test(e.message),
  );
  assert.throws(
    () => readPackHeader(generateMasterKey(random), pack.bytes, pack.bytes.length, pack.id),
    (e) => isCofferError(e, "CORRUPT"),
  );
});

test("PackBuilder refuses to mix data and tree blobs", () => {
  const pb = new PackBuilder("tree");
  assert.throws(
    () => pb.add(encodeBlob(master, "data", Buffer.from("x"), random)),
    (e) => isCofferError(e, "BAD_INPUT"),
  );
  const empty = new PackBuilder("tree").finish(master, random);
  const r = readPackHeader(master, empty.bytes, empty.bytes.length);
  assert.ok("entries" in r && r.entries.length === 0);
});
