import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeBlob } from "../../format/blob.ts";
import { generateMasterKey } from "../../format/master-key.ts";
import { deterministicRandom, pseudoRandomBytes } from "../../format/testing/deterministic-random.ts";
import { BlobDecoder, decodeRange } from "./blob.ts";
import type { DecodeJob } from "./blob.ts";

const random = deterministicRandom("restore-blob");
const master = generateMasterKey(random);

/** Lays sealed blobs one after the other in a shared input area, like a pack range. */
function rangeOf(raws: Buffer[]): { job: DecodeJob; input: Buffer } {
  const blobs = raws.map((raw) => encodeBlob(master, "data", raw, random));
  const input = Buffer.from(new SharedArrayBuffer(blobs.reduce((n, b) => n + b.sealed.length, 0)));
  const entries: DecodeJob["blobs"] = [];
  let at = 0;
  for (const b of blobs) {
    input.set(b.sealed, at);
    entries.push([Buffer.from(b.id).toString("hex"), at, b.sealed.length, b.flags, b.rawLength]);
    at += b.sealed.length;
  }
  const output = new SharedArrayBuffer(raws.reduce((n, r) => n + r.length, 1));
  return {
    job: { input: input.buffer, inputLength: at, output, blobs: entries, checkIds: true },
    input,
  };
}

test("decodeRange() writes the plaintexts one after the other and names the damaged blob", () => {
  const text = Buffer.from("a line of text\n".repeat(20_000));
  const noise = pseudoRandomBytes(70_000, 7);
  const tiny = Buffer.from("x");
  const { job, input } = rangeOf([text, noise, tiny]);
  const damaged = job.blobs[1]!;
  input[damaged[1] + 40] = input[damaged[1] + 40]! ^ 1;
  const results = decodeRange(new BlobDecoder(master), job);
  assert.equal(results[0], 0);
  assert.deepEqual(results[1], {
    code: "CORRUPT",
    message: `Cannot read blob ${damaged[0].slice(0, 8)}: authentication failed`,
  });
  // the damaged blob takes no room: the next plaintext follows the first
  assert.equal(results[2], text.length);
  const out = Buffer.from(job.output);
  assert.deepEqual(out.subarray(0, text.length), text);
  assert.deepEqual(out.subarray(text.length, text.length + 1), tiny);
});

test("decodeRange() refuses an output area too small for a blob instead of writing past it", () => {
  const text = Buffer.from("0123456789".repeat(1000));
  const { job } = rangeOf([text]);
  const results = decodeRange(new BlobDecoder(master), {
    ...job,
    output: new SharedArrayBuffer(text.length - 1),
  });
  assert.deepEqual(results, [{ code: "CORRUPT", message: "output area too small" }]);
});
