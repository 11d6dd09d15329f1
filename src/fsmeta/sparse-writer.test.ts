import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { lstat, mkdtemp, readFile, rm } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pseudoRandomBytes } from "./testing/make-tree.ts";
import { SparseWriter, isAllZero } from "./sparse-writer.ts";

const MiB = 1 << 20;

test("isAllZero() detects any non-zero byte", () => {
  assert.equal(isAllZero(new Uint8Array(0)), true);
  assert.equal(isAllZero(Buffer.alloc(200_000)), true);
  const b = Buffer.alloc(200_000);
  b[199_999] = 1;
  assert.equal(isAllZero(b), false);
  assert.equal(isAllZero(b.subarray(0, 199_999)), true);
});

test("SparseWriter restores a 64 MiB file with a 60 MiB hole using few blocks and identical bytes", async () => {
  const dir = await mkdtemp(join(tmpdir(), "coffer-sparse-"));
  try {
    const size = 64 * MiB;
    const expected = Buffer.alloc(size);
    pseudoRandomBytes(2 * MiB, 1).copy(expected, 0);
    pseudoRandomBytes(MiB + 123, 2).copy(expected, 62 * MiB - 123); // ends 1 MiB before EOF
    // restore in uneven "chunks" like a CDC restore would, including an 8 MiB one that
    // straddles data and hole, and a last chunk that is all zeros (trailing hole)
    const cuts = [0, 700_001, 2 * MiB + 5, 10 * MiB + 5, 18 * MiB, 61 * MiB + 7, 63 * MiB, size];
    const w = await SparseWriter.create(join(dir, "out"));
    for (let i = cuts.length - 2; i >= 0; i--) {
      // reverse order: chunks may arrive in any order
      await w.write(cuts[i]!, expected.subarray(cuts[i], cuts[i + 1]));
    }
    await w.finish(size);
    const st = await lstat(join(dir, "out"), { bigint: true });
    assert.equal(st.size, BigInt(size));
    const allocated = Number(st.blocks) * 512;
    assert.ok(allocated <= 3 * MiB + 256 * 1024, `allocated ${allocated} bytes for ~3 MiB of data`);
    assert.ok(w.bytesSkipped >= 60 * MiB);
    const h = createHash("sha256");
    for await (const c of createReadStream(join(dir, "out"))) h.update(c as Buffer);
    assert.equal(h.digest("hex"), createHash("sha256").update(expected).digest("hex"));
  } finally {
    await rm(dir, { recursive: true });
  }
});

test("SparseWriter truncates an existing file and writes unaligned non-zero bytes exactly", async () => {
  const dir = await mkdtemp(join(tmpdir(), "coffer-sparse-"));
  try {
    const p = join(dir, "f");
    const w1 = await SparseWriter.create(p);
    await w1.write(0, Buffer.alloc(10_000, 0xaa));
    await w1.finish(10_000);
    const w2 = await SparseWriter.create(p);
    const data = Buffer.alloc(9_000);
    data[4095] = 1; // last byte of the first block
    data[8999] = 2;
    await w2.write(3, data);
    await w2.finish(12_000);
    const got = await readFile(p);
    const want = Buffer.alloc(12_000);
    data.copy(want, 3);
    assert.deepEqual(got, want, "old contents do not leak through skipped zero blocks");
  } finally {
    await rm(dir, { recursive: true });
  }
});

test("SparseWriter.create() fails with a clear CofferError", async () => {
  await assert.rejects(
    SparseWriter.create("/nonexistent-dir/x"),
    /^CofferError: Cannot create \/nonexistent-dir\/x: not found$/,
  );
});
