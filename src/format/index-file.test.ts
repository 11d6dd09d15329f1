import assert from "node:assert/strict";
import { test } from "node:test";
import { compress } from "zstd-napi";
import { isCofferError } from "../core/errors.ts";
import { decodeIndex, encodeIndex, type IndexFile } from "./index-file.ts";
import { objectId } from "./ids.ts";
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
