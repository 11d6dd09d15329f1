import assert from "node:assert/strict";
import { test } from "node:test";
import { runStorageContract } from "./contract.ts";
import { MemoryStorage } from "./memory.ts";

runStorageContract("MemoryStorage", () =>
  Promise.resolve({ storage: new MemoryStorage(), cleanup: () => Promise.resolve() }),
);

test("MemoryStorage counts its objects and names its location", async () => {
  const s = new MemoryStorage("unit");
  assert.equal(s.location, "memory:unit");
  await s.putIfAbsent("a", new Uint8Array(1));
  await s.putIfAbsent("b/c", new Uint8Array(2));
  assert.equal(s.size, 2);
});
