import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { compressBlob, compressBlobTransient, decompressBlob } from "./compress.ts";
import { pseudoRandomBytes } from "./testing/deterministic-random.ts";

test("compressBlob() compresses redundant data and decompressBlob() restores it", () => {
  const raw = Buffer.from("abcdefgh".repeat(10000));
  const c = compressBlob(raw);
  assert.equal(c.compressed, true);
  assert.ok(c.data.length < raw.length / 10);
  assert.deepEqual(decompressBlob(c.data, raw.length), raw);
});

test("compressBlob() keeps incompressible and empty data raw", () => {
  const raw = pseudoRandomBytes(4096, 9);
  const c = compressBlob(raw);
  assert.equal(c.compressed, false);
  assert.equal(c.data, raw);
  assert.equal(compressBlob(new Uint8Array(0)).compressed, false);
});

test("decompressBlob() rejects garbage and a wrong length as CORRUPT", () => {
  assert.throws(
    () => decompressBlob(Buffer.from("not zstd at all"), 10),
    (e) => isCofferError(e, "CORRUPT") && /invalid zstd/.test(e.message),
  );
  const c = compressBlob(Buffer.alloc(1000));
  assert.throws(
    () => decompressBlob(c.data, 999),
    (e) => isCofferError(e, "CORRUPT") && /expected 999/.test(e.message),
  );
});

test("compressBlobTransient() matches compressBlob() and keeps incompressible data raw", () => {
  const text = Buffer.from("transient scratch ".repeat(5000));
  const t = compressBlobTransient(text);
  assert.equal(t.compressed, true);
  assert.deepEqual(decompressBlob(Buffer.from(t.data), text.length), text);
  const raw = pseudoRandomBytes(70_000, 3);
  const r = compressBlobTransient(raw);
  assert.equal(r.compressed, false);
  assert.equal(r.data, raw);
  assert.equal(compressBlobTransient(new Uint8Array(0)).compressed, false);
});
