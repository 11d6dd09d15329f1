import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { generateMasterKey, masterKeyFromBytes, masterKeyToBytes } from "./master-key.ts";
import { deterministicRandom } from "./testing/deterministic-random.ts";

test("generateMasterKey() draws encKey ‖ macKey ‖ chunkerSeed and serialises to 96 bytes", () => {
  const m = generateMasterKey(deterministicRandom("mk"));
  const bytes = masterKeyToBytes(m);
  assert.equal(bytes.length, 96);
  assert.deepEqual(bytes.subarray(32, 64), m.macKey);
  assert.deepEqual(masterKeyFromBytes(bytes), m);
  assert.notDeepEqual(m.encKey, m.macKey);
  assert.throws(
    () => masterKeyFromBytes(new Uint8Array(95)),
    (e) => isCofferError(e, "CORRUPT"),
  );
});
