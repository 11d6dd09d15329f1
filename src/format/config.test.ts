import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import {
  canonicalConfig,
  createConfig,
  decodeConfig,
  encodeConfig,
  parseConfig,
  verifyConfig,
} from "./config.ts";
import { generateMasterKey } from "./master-key.ts";
import { deterministicRandom } from "./testing/deterministic-random.ts";

const random = deterministicRandom("config");
const master = generateMasterKey(random);

test("createConfig() makes an authenticated v1 config that round-trips", () => {
  const c = createConfig(master, random, {
    chunker: { min: 1024, avg: 4096, max: 16384 },
    packSize: 4 << 20,
  });
  assert.equal(c.version, 1);
  const bytes = encodeConfig(c);
  assert.equal(
    Buffer.from(bytes).toString(),
    `${canonicalConfig(c).slice(0, -1)},"mac":"${c.mac}"}`,
  );
  assert.deepEqual(parseConfig(bytes), c);
  assert.deepEqual(decodeConfig(bytes, master), c);
  assert.deepEqual(createConfig(master, random).chunker, {
    min: 524288,
    avg: 1048576,
    max: 8388608,
  });
});

test("verifyConfig() detects tampering and a foreign key", () => {
  const c = createConfig(master, random);
  assert.throws(
    () => {
      verifyConfig(master, { ...c, packSize: c.packSize + 1 });
    },
    (e) => isCofferError(e, "CORRUPT") && /MAC mismatch/.test(e.message),
  );
  assert.throws(
    () => {
      verifyConfig(generateMasterKey(random), c);
    },
    (e) => isCofferError(e, "CORRUPT"),
  );
});

test("parseConfig() refuses other versions with UNSUPPORTED_VERSION and junk with CORRUPT", () => {
  const doc = JSON.parse(
    Buffer.from(encodeConfig(createConfig(master, random))).toString(),
  ) as Record<string, unknown>;
  assert.throws(
    () => parseConfig(Buffer.from(JSON.stringify({ ...doc, version: 2 }))),
    (e) => isCofferError(e, "UNSUPPORTED_VERSION") && /version 2 is not supported/.test(e.message),
  );
  assert.throws(
    () => parseConfig(Buffer.from(JSON.stringify({ ...doc, compression: "lz4" }))),
    (e) => isCofferError(e, "CORRUPT"),
  );
  assert.throws(
    () => parseConfig(Buffer.from(JSON.stringify({ ...doc, chunker: { min: 1, avg: 3, max: 2 } }))),
    (e) => isCofferError(e, "CORRUPT"),
  );
  assert.throws(
    () => parseConfig(Buffer.from("not json")),
    (e) => isCofferError(e, "CORRUPT"),
  );
});
