import assert from "node:assert/strict";
import { test } from "node:test";
import { CofferError } from "../../core/errors.ts";
import { encodeBlob } from "../../format/blob.ts";
import { generateMasterKey } from "../../format/master-key.ts";
import { deterministicRandom, pseudoRandomBytes } from "../../format/testing/deterministic-random.ts";
import { outputSize, RestoreDecoder, type DecodeSlot } from "./decoder.ts";
import type { PackRange } from "./packs.ts";

const random = deterministicRandom("restore-decoder");
const master = generateMasterKey(random);

/** A range of three blobs whose second is listed under the first one's ID (an index lie). */
function lyingRange(): { range: PackRange; slot: DecodeSlot; raws: Buffer[]; length: number } {
  const raws = [
    Buffer.from("first blob\n".repeat(5000)),
    pseudoRandomBytes(30_000, 3),
    Buffer.from("third"),
  ];
  const blobs = raws.map((raw) => encodeBlob(master, "data", raw, random));
  const length = blobs.reduce((n, b) => n + b.sealed.length, 0);
  const slot: DecodeSlot = {
    input: new SharedArrayBuffer(length),
    output: new SharedArrayBuffer(raws.reduce((n, r) => n + r.length, 1)),
  };
  const input = Buffer.from(slot.input);
  const range: PackRange = { packId: "ab".repeat(32), offset: 0, length, blobs: [] };
  let at = 0;
  blobs.forEach((b, i) => {
    input.set(b.sealed, at);
    range.blobs.push({
      id: Buffer.from(blobs[i === 1 ? 0 : i]!.id).toString("hex"),
      loc: {
        type: "data",
        packId: range.packId,
        packIndex: 0,
        offset: at,
        length: b.sealed.length,
        rawLength: b.rawLength,
        flags: b.flags,
      },
    });
    at += b.sealed.length;
  });
  return { range, slot, raws, length };
}

for (const mainChecksEvery of [0, 1])
  test(`RestoreDecoder.decode() rejects a plaintext that does not match its ID (mainChecksEvery: ${mainChecksEvery})`, async () => {
    const { range, slot, raws, length } = lyingRange();
    assert.ok(outputSize(range) <= slot.output.byteLength);
    const decoder = new RestoreDecoder(master, 1, mainChecksEvery);
    try {
      const out = await decoder.decode(slot, length, range);
      assert.deepEqual(out[0], raws[0]);
      assert.ok(out[1] instanceof CofferError);
      assert.equal(out[1].code, "CORRUPT");
      assert.equal(
        out[1].message,
        `Cannot read blob ${range.blobs[1]!.id.slice(0, 8)}: ID mismatch`,
      );
      assert.deepEqual(out[2], raws[2]);
    } finally {
      await decoder.close();
    }
  });
