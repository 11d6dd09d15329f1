import assert from "node:assert/strict";
import { test } from "node:test";
import { compress } from "zstd-napi";
import { isCofferError } from "../core/errors.ts";
import { decodeIndex, encodeIndex, type IndexFile } from "./index-file.ts";
import { objectId } from "./ids.ts";
import { encodeIndexPrefix, INDEX_MAGIC, parseIndexPrefix } from "./index-pack-list.ts";
import { generateMasterKey } from "./master-key.ts";
import { seal } from "./seal.ts";
import { deterministicRandom } from "./testing/deterministic-random.ts";

const random = deterministicRandom("index");
const master = generateMasterKey(random);
const A = "a".repeat(64);
const B = "b".repeat(64);
const C = "c".repeat(64);

test("encodeIndex()/decodeIndex() round-trip packs, blobs and supersedes", () => {
  const idx: IndexFile = {
    v: 1,
    packs: [
      {
        id: A,
        type: "data",
        size: 1000,
        blobs: [
          [B, 0, 500, 700, 1],
          [C, 500, 400, 368, 0],
        ],
      },
      { id: B, type: "tree", size: 100, blobs: [] },
    ],
    supersedes: [C],
  };
  const { id, bytes } = encodeIndex(master, idx, random);
  assert.equal(id, objectId(bytes));
  assert.deepEqual(decodeIndex(master, bytes, id), idx);
});

function sealJson(doc: unknown): Buffer {
  return seal(master.encKey, "index", compress(Buffer.from(JSON.stringify(doc))), random);
}

test("decodeIndex() rejects tampering, bad entries and other versions", () => {
  const { bytes, id } = encodeIndex(master, { v: 1, packs: [], supersedes: [] }, random);
  const t = Buffer.from(bytes);
  t[t.length - 1]! ^= 1;
  assert.throws(
    () => decodeIndex(master, t, id),
    (e) =>
      isCofferError(e, "CORRUPT") &&
      e.message === `Cannot open index ${id.slice(0, 8)}: authentication failed`,
  );
  const bad = (doc: unknown, re: RegExp, code = "CORRUPT" as const) => {
    assert.throws(
      () => decodeIndex(master, sealJson(doc)),
      (e) => isCofferError(e, code) && re.test(e.message),
      JSON.stringify(doc),
    );
  };
  bad(
    { v: 1, packs: [{ id: A, type: "data", size: 10, blobs: [[B, 5, 6, 1, 0]] }], supersedes: [] },
    /outside its pack/,
  );
  bad({ v: 1, packs: [{ id: A, type: "x", size: 10, blobs: [] }], supersedes: [] }, /type/);
  bad({ v: 1, packs: [{ id: "zz", type: "data", size: 10, blobs: [] }], supersedes: [] }, /hex ID/);
  bad(
    { v: 1, packs: [{ id: A, type: "data", size: 10, blobs: [[B, 0, 1]] }], supersedes: [] },
    /blob entry/,
  );
  bad({ v: 1, packs: [], supersedes: ["nope"] }, /supersedes/);
  assert.throws(
    () => decodeIndex(master, sealJson({ v: 2, packs: [], supersedes: [] })),
    (e) => isCofferError(e, "UNSUPPORTED_VERSION"),
  );
});

const listed: IndexFile = {
  v: 1,
  packs: [
    { id: B, type: "data", size: 10, blobs: [[C, 0, 10, 10, 0]] },
    { id: A, type: "tree", size: 5, blobs: [] },
  ],
  supersedes: [],
};

test("encodeIndex() puts the sorted pack list in plaintext in front of the sealed body", () => {
  const { id, bytes } = encodeIndex(master, listed, random);
  const p = parseIndexPrefix(bytes, bytes.length);
  assert.ok(p.layout === "listed");
  assert.deepEqual(p.packs, [A, B]);
  assert.equal(
    Buffer.from(bytes.subarray(8, p.bodyOffset)).toString(),
    JSON.stringify({ v: 1, packs: [A, B] }),
  );
  assert.deepEqual(decodeIndex(master, bytes, id), listed);
});

test("decodeIndex() still reads the original layout (sealed body only)", () => {
  const old = sealJson(listed);
  assert.equal(parseIndexPrefix(old, old.length).layout, "sealed");
  assert.deepEqual(decodeIndex(master, old), listed);
});

test("decodeIndex() refuses a plaintext pack list that does not match the sealed content", () => {
  const { bytes } = encodeIndex(master, listed, random);
  const p = parseIndexPrefix(bytes, bytes.length);
  assert.ok(p.layout === "listed");
  const body = bytes.subarray(p.bodyOffset);
  const lying = (ids: string[]) => Buffer.concat([encodeIndexPrefix(ids), body]);
  for (const ids of [[A], [A, B, C], [A, C], []]) {
    const t = lying(ids);
    assert.throws(
      () => decodeIndex(master, t),
      (e) =>
        isCofferError(e, "CORRUPT") &&
        e.message ===
          `Cannot open index ${objectId(t).slice(0, 8)}: plaintext pack list does not match its content`,
      JSON.stringify(ids),
    );
  }
  // A non-canonical list (unsorted) over the right set is refused too: one body, one prefix.
  const j = Buffer.from(JSON.stringify({ v: 1, packs: [B, A] }));
  const head = Buffer.alloc(8);
  head.set(INDEX_MAGIC);
  head.writeUInt32LE(j.length, 4);
  assert.throws(
    () => decodeIndex(master, Buffer.concat([head, j, body])),
    (e) =>
      isCofferError(e, "CORRUPT") && /invalid plaintext pack list \(.*canonical/.test(e.message),
  );
});

test("decodeIndex() falls back to the original layout when a sealed index starts with the magic", () => {
  // An original-layout index whose random salt begins with "CIDX" and a length field (as if
  // by chance, p = 2^-32), forced here through the injected Random.
  for (const len of [5, 40, 0xffffffff]) {
    const sealed = seal(
      master.encKey,
      "index",
      compress(Buffer.from(JSON.stringify(listed))),
      (n) => {
        const b = Buffer.from(random(n));
        b.set(INDEX_MAGIC, 0);
        b.writeUInt32LE(len, 4);
        return b;
      },
    );
    assert.deepEqual(Buffer.from(sealed.subarray(0, 4)), Buffer.from(INDEX_MAGIC));
    assert.notEqual(parseIndexPrefix(sealed, sealed.length).layout, "listed");
    assert.deepEqual(decodeIndex(master, sealed), listed, `length field ${len}`);
  }
});

test("parseIndexPrefix() asks for more bytes, bounds the length and rejects bad lists", () => {
  const { bytes } = encodeIndex(master, listed, random);
  assert.deepEqual(parseIndexPrefix(bytes.subarray(0, 3), bytes.length), {
    layout: "need",
    bytes: 8,
  });
  const p = parseIndexPrefix(bytes.subarray(0, 8), bytes.length);
  assert.ok(p.layout === "need");
  assert.equal(parseIndexPrefix(bytes.subarray(0, p.bytes), bytes.length).layout, "listed");
  const head = (len: number, j = "") => {
    const h = Buffer.alloc(8);
    h.set(INDEX_MAGIC);
    h.writeUInt32LE(len, 4);
    return Buffer.concat([h, Buffer.from(j)]);
  };
  assert.deepEqual(parseIndexPrefix(head(0xffffffff), 1 << 30), {
    layout: "too-large",
    length: 0xffffffff,
  });
  assert.equal(parseIndexPrefix(head(100), 120).layout, "invalid");
  const j = (s: string) => parseIndexPrefix(head(s.length, s), 1000);
  assert.equal(j('{"v":1,"packs":[]}').layout, "listed");
  assert.equal(j("not json").layout, "invalid");
  assert.equal(j('{"v":1,"packs":["zz"]}').layout, "invalid");
  assert.equal(j(`{"v":2,"packs":["${A}"]}`).layout, "invalid");
  assert.equal(j(`{"v":1,"packs":["${A}","${A}"]}`).layout, "invalid");
  assert.equal(j(`{"packs":["${A}"],"v":1}`).layout, "invalid");
});
