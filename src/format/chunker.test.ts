import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import {
  Chunker,
  type ChunkerParams,
  chunkLengths,
  DEFAULT_CHUNKER,
  gearTable,
} from "./chunker.ts";
import { pseudoRandomBytes } from "./testing/deterministic-random.ts";

const P: ChunkerParams = { min: 1024, avg: 4096, max: 16384 };
const seed = Buffer.alloc(32, 1);
const data = pseudoRandomBytes(400_000, 42);

function cuts(lengths: number[]): number[] {
  let p = 0;
  return lengths.map((l) => (p += l));
}

test("gearTable() is deterministic per seed and differs between seeds", () => {
  const a = gearTable(seed);
  assert.equal(a.length, 256);
  assert.deepEqual(gearTable(Buffer.alloc(32, 1)), a);
  assert.notDeepEqual(gearTable(Buffer.alloc(32, 2)), a);
  assert.ok(new Set(a).size > 250);
});

test("chunk() cuts at content-defined boundaries that respect min and max", () => {
  const lengths = chunkLengths(new Chunker(gearTable(seed), P), data);
  assert.equal(
    lengths.reduce((a, b) => a + b, 0),
    data.length,
  );
  assert.ok(lengths.length > 40 && lengths.length < 400, `got ${lengths.length} chunks`);
  for (const l of lengths.slice(0, -1)) assert.ok(l >= P.min && l <= P.max, `chunk of ${l}`);
  const mean = data.length / lengths.length;
  assert.ok(mean > P.avg / 2 && mean < P.avg * 2, `mean ${mean}`);
});

test("chunk() cuts at max when content never matches", () => {
  const lengths = chunkLengths(new Chunker(gearTable(seed), P), Buffer.alloc(100_000));
  // all-zero input: h becomes a constant, which may or may not match; either way sizes hold.
  for (const l of lengths.slice(0, -1)) assert.ok(l >= P.min && l <= P.max);
  const g = new Uint32Array(256).fill(0x80000000); // h stays 0x80000000: never a cut
  assert.deepEqual(chunkLengths(new Chunker(g, P), data.subarray(0, 40000)), [16384, 16384, 7232]);
});

test("chunk() boundaries shift with inserted bytes (content-defined)", () => {
  const c = new Chunker(gearTable(seed), P);
  const base = cuts(chunkLengths(c, data));
  const shifted = cuts(chunkLengths(c, Buffer.concat([Buffer.from("inserted!"), data])));
  const baseSet = new Set(base.map((x) => x + 9));
  const common = shifted.filter((x) => baseSet.has(x));
  assert.ok(
    common.length >= base.length - 3,
    `${common.length} of ${base.length} boundaries survived`,
  );
});

test("chunk() with a different seed gives different boundaries", () => {
  const a = chunkLengths(new Chunker(gearTable(seed), P), data);
  const b = chunkLengths(new Chunker(gearTable(Buffer.alloc(32, 3)), P), data);
  assert.notDeepEqual(a, b);
});

test("chunk() streaming over arbitrary buffer splits equals one big buffer", () => {
  const c = new Chunker(gearTable(seed), P);
  const whole = cuts(chunkLengths(c, data));
  for (const step of [1, 7, 1000, 4096, 65536]) {
    c.reset();
    const got: number[] = [];
    const buf = new Uint8Array(step); // a reused, caller-owned read buffer
    for (let off = 0; off < data.length; off += step) {
      const n = Math.min(step, data.length - off);
      buf.set(data.subarray(off, off + n));
      let pos = 0;
      while (pos < n) {
        const cut = c.next(buf, pos, n);
        if (cut < 0) break;
        got.push(off + cut);
        pos = cut;
      }
    }
    if (got[got.length - 1] !== data.length) got.push(data.length);
    assert.deepEqual(got, whole, `step ${step}`);
  }
});

test("Chunker validates parameters and files smaller than min are one chunk", () => {
  assert.throws(
    () => new Chunker(gearTable(seed), { min: 10, avg: 1000, max: 2000 }),
    (e) => isCofferError(e, "BAD_INPUT"),
  );
  assert.throws(
    () => new Chunker(gearTable(seed), { min: 5000, avg: 4096, max: 8192 }),
    (e) => isCofferError(e, "BAD_INPUT"),
  );
  const c = new Chunker(gearTable(seed));
  assert.deepEqual(chunkLengths(c, pseudoRandomBytes(DEFAULT_CHUNKER.min - 1)), [
    DEFAULT_CHUNKER.min - 1,
  ]);
  assert.deepEqual(chunkLengths(c, new Uint8Array(0)), []);
});
