import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { decodeBlob, encodeBlob, FLAG_ZSTD } from "./blob.ts";
import { blobId } from "./ids.ts";
import { generateMasterKey } from "./master-key.ts";
import { deterministicRandom, pseudoRandomBytes } from "./testing/deterministic-random.ts";

const random = deterministicRandom("blob");
const master = generateMasterKey(random);

test("encodeBlob() hashes, compresses when it pays, seals; decodeBlob() reverses it", () => {
  const text = Buffer.from("line of text\n".repeat(1000));
  const b = encodeBlob(master, "data", text, random);
  assert.deepEqual(b.id, blobId(master.macKey, text));
  assert.equal(b.flags, FLAG_ZSTD);
  assert.equal(b.rawLength, text.length);
  assert.ok(b.sealed.length < text.length);
  assert.deepEqual(decodeBlob(master, "data", b.sealed, b.flags, b.id, b.rawLength), text);
  assert.deepEqual(decodeBlob(master, "data", b.sealed, b.flags, b.id.toString("hex")), text);

  const noise = pseudoRandomBytes(2000, 5);
  const n = encodeBlob(master, "tree", noise, random);
  assert.equal(n.flags, 0);
  assert.equal(n.sealed.length, noise.length + 32);
  assert.deepEqual(decodeBlob(master, "tree", n.sealed, n.flags, n.id), noise);
});

test("decodeBlob() reports an ID mismatch, tampering, wrong type and wrong length as CORRUPT", () => {
  const b = encodeBlob(master, "data", Buffer.from("abc"), random);
  const other = blobId(master.macKey, Buffer.from("abd"));
  assert.throws(
    () => decodeBlob(master, "data", b.sealed, b.flags, other),
    (e) =>
      isCofferError(e, "CORRUPT") &&
      e.message === `Cannot read blob ${other.toString("hex").slice(0, 8)}: ID mismatch`,
  );
  const t = Buffer.from(b.sealed);
  t[20]! ^= 0x40;
  assert.throws(
    () => decodeBlob(master, "data", t, b.flags, b.id),
    (e) => isCofferError(e, "CORRUPT") && /authentication failed/.test(e.message),
  );
  assert.throws(
    () => decodeBlob(master, "tree", b.sealed, b.flags, b.id),
    (e) => isCofferError(e, "CORRUPT"),
  );
  assert.throws(
    () => decodeBlob(master, "data", b.sealed, b.flags, b.id, 4),
    (e) => isCofferError(e, "CORRUPT") && /expected 4/.test(e.message),
  );
});
