import assert from "node:assert/strict";
import { createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { seal, SEAL_OVERHEAD, unseal } from "./seal.ts";
import { deterministicRandom } from "./testing/deterministic-random.ts";

const key = Buffer.alloc(32, 7);
const random = deterministicRandom("seal");

test("seal() round-trips and adds 32 bytes", () => {
  const msg = Buffer.from("hello, coffer");
  const s = seal(key, "snapshot", msg, random);
  assert.equal(s.length, msg.length + SEAL_OVERHEAD);
  assert.deepEqual(unseal(key, "snapshot", s), msg);
  assert.deepEqual(
    unseal(key, "index", seal(key, "index", new Uint8Array(0), random)),
    Buffer.alloc(0),
  );
});

test("seal() uses a fresh salt, so equal plaintexts give different ciphertexts", () => {
  const a = seal(key, "blob/data", Buffer.alloc(64), random);
  const b = seal(key, "blob/data", Buffer.alloc(64), random);
  assert.notDeepEqual(a, b);
});

test("unseal() rejects tampering, truncation, wrong key and wrong purpose", () => {
  const s = seal(key, "blob/tree", Buffer.from("tree bytes"), random);
  const expectCorrupt = (fn: () => unknown, purpose: string) => {
    assert.throws(
      fn,
      (e) =>
        isCofferError(e, "CORRUPT") &&
        e.message === `Cannot open ${purpose}: authentication failed`,
    );
  };
  for (const i of [0, 15, 16, s.length - 17, s.length - 1]) {
    const t = Buffer.from(s);
    t[i]! ^= 1;
    expectCorrupt(() => unseal(key, "blob/tree", t), "blob/tree");
  }
  expectCorrupt(() => unseal(Buffer.alloc(32, 8), "blob/tree", s), "blob/tree");
  expectCorrupt(() => unseal(key, "blob/data", s), "blob/data");
  expectCorrupt(() => unseal(key, "blob/tree", s.subarray(0, s.length - 1)), "blob/tree");
  assert.throws(
    () => unseal(key, "index", s.subarray(0, 31)),
    (e) => isCofferError(e, "CORRUPT") && /truncated/.test(e.message),
  );
});

test("seal() refuses keys that are not 32 bytes", () => {
  assert.throws(
    () => seal(Buffer.alloc(16), "index", Buffer.alloc(1), random),
    (e) => isCofferError(e, "BAD_INPUT"),
  );
});

test("seal() keys are HKDF-SHA256(encKey, salt, coffer/v1/<purpose>) for every purpose", () => {
  const purposes = [
    "blob/data",
    "blob/tree",
    "pack-header",
    "index",
    "snapshot",
    "keyfile",
  ] as const;
  for (let i = 0; i < 64; i++) {
    const key = randomBytes(32);
    const purpose = purposes[i % purposes.length]!;
    const plain = randomBytes(i * 7);
    const sealed = seal(key, purpose, plain, (n) => randomBytes(n));
    const salt = sealed.subarray(0, 16);
    const k = Buffer.from(hkdfSync("sha256", key, salt, `coffer/v1/${purpose}`, 32));
    const d = createDecipheriv("aes-256-gcm", k, Buffer.alloc(12));
    d.setAAD(Buffer.from(purpose));
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    const got = Buffer.concat([d.update(sealed.subarray(16, sealed.length - 16)), d.final()]);
    assert.ok(got.equals(plain), purpose);
  }
});
