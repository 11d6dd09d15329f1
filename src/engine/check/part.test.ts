import { createHash } from "node:crypto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryStorage } from "../../storage/memory.ts";
import { check, packsOfPart } from "./check.ts";
import { fxBytes, writeFixture } from "../testing/check-fixture.ts";
import { testRepository } from "../testing/fixtures.ts";

test("packsOfPart() splits pack IDs into disjoint parts that together cover them all", () => {
  const ids = Array.from({ length: 3000 }, (_, i) =>
    createHash("sha256").update(String(i)).digest("hex"),
  );
  const seen = new Set<string>();
  for (let i = 0; i < 30; i++) {
    const part = packsOfPart(ids, i, 30);
    assert.ok(part.length > 0, `part ${String(i)} is not empty`);
    for (const id of part) {
      assert.ok(!seen.has(id), `${id} is in two parts`);
      seen.add(id);
    }
  }
  assert.equal(seen.size, ids.length);
  assert.deepEqual(packsOfPart(ids, 30, 30), packsOfPart(ids, 0, 30)); // the index wraps
});

test("check() with readDataPart reads each pack in exactly one of the parts", async () => {
  const repo = await testRepository({ storage: new MemoryStorage() });
  await writeFixture(
    repo,
    Array.from({ length: 12 }, (_, i) => ({
      type: "file" as const,
      name: `f${String(i)}`,
      data: fxBytes(1000, i + 1),
    })),
    { blobsPerPack: 1 },
  );
  const packs = (await check(repo)).stats.packs;
  let read = 0;
  for (let i = 0; i < 4; i++) {
    const r = await check(repo, { readDataPart: { index: i, of: 4 } });
    assert.ok(r.ok);
    read += r.stats.packsRead;
  }
  assert.equal(read, packs);
});
