import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import { encodeBlob, FLAG_ZSTD } from "../../format/blob.ts";
import { generateMasterKey } from "../../format/master-key.ts";
import { deterministicRandom } from "../../format/testing/deterministic-random.ts";
import { verifyBlob } from "./repack-verify.ts";

const random = deterministicRandom("repack-verify");
const master = generateMasterKey(random);
const text = Buffer.from("a line that compresses well\n".repeat(2000));
const blob = encodeBlob(master, "data", text, random);
const id = blob.id.toString("hex");

function corrupt(f: () => void, why: RegExp): void {
  assert.throws(f, (e: unknown) => isCofferError(e, "CORRUPT") && why.test(e.message));
}

test("verifyBlob() accepts an intact compressed blob and an intact stored one", () => {
  assert.equal(blob.flags & FLAG_ZSTD, FLAG_ZSTD);
  verifyBlob(master, "data", blob.sealed, blob.flags, id, text.length);
  const raw = encodeBlob(master, "tree", Buffer.from("[]"), random);
  assert.equal(raw.flags, 0);
  verifyBlob(master, "tree", raw.sealed, raw.flags, raw.id.toString("hex"), 2);
});

test("verifyBlob() rejects altered bytes, a wrong type, a wrong length and a wrong ID", () => {
  const bad = Buffer.from(blob.sealed);
  bad[bad.length >> 1] = (bad[bad.length >> 1] ?? 0) ^ 1;
  corrupt(() => {
    verifyBlob(master, "data", bad, blob.flags, id, text.length);
  }, /authentication/);
  corrupt(() => {
    verifyBlob(master, "tree", blob.sealed, blob.flags, id, text.length);
  }, /authentication/);
  corrupt(() => {
    verifyBlob(master, "data", blob.sealed, blob.flags, id, text.length + 1);
  }, /decompressed to 56000 bytes, expected 56001/);
  corrupt(() => {
    verifyBlob(master, "data", blob.sealed, blob.flags, id, text.length - 1);
  }, /longer than 55999 bytes|more than 55999/);
  corrupt(() => {
    verifyBlob(master, "data", blob.sealed, blob.flags, "00".repeat(32), text.length);
  }, /ID mismatch/);
  corrupt(() => {
    verifyBlob(master, "data", blob.sealed, 0, id, text.length);
  }, /length/);
});

test("verifyBlob() refuses an implausible length before allocating for it", () => {
  corrupt(() => {
    verifyBlob(master, "data", blob.sealed, blob.flags, id, 0xffffffff);
  }, /length 4294967295 is implausible/);
});
