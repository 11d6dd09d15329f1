import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import {
  createKeyFile,
  DEFAULT_KDF,
  generateMasterKey,
  openKeyFile,
  readKeyFileInfo,
} from "./keys.ts";
import { objectId } from "./ids.ts";
import { deterministicRandom } from "./testing/deterministic-random.ts";

const random = deterministicRandom("keys");
const cheap = { N: 1024, r: 8, p: 1 };
const master = generateMasterKey(random);
const opts = {
  random,
  now: Date.UTC(2024, 0, 2, 3, 4, 5),
  hostname: "box",
  username: "alice",
  kdf: cheap,
};

test("createKeyFile()/openKeyFile() wrap and unwrap the master key", () => {
  const kf = createKeyFile(master, "correct horse", opts);
  assert.equal(kf.id, objectId(kf.bytes));
  assert.deepEqual(openKeyFile(kf.bytes, "correct horse"), master);
  assert.deepEqual(readKeyFileInfo(kf.bytes), {
    id: kf.id,
    created: "2024-01-02T03:04:05.000Z",
    hostname: "box",
    username: "alice",
    kdf: cheap,
  });
  assert.ok(!Buffer.from(kf.bytes).includes(master.encKey), "no plaintext key in the file");
  assert.equal(DEFAULT_KDF.N, 2 ** 15);
});

test("openKeyFile() with a wrong password says so in one line", () => {
  const kf = createKeyFile(master, "pw", opts);
  assert.throws(
    () => openKeyFile(kf.bytes, "PW"),
    (e) =>
      isCofferError(e, "WRONG_PASSWORD") &&
      e.message === `Cannot open key file ${kf.id.slice(0, 8)}: wrong password`,
  );
});

test("password is Unicode-normalised (NFC) before derivation", () => {
  const kf = createKeyFile(master, "caf\u00e9", opts);
  assert.deepEqual(openKeyFile(kf.bytes, "cafe\u0301"), master);
});

test("openKeyFile() rejects damaged files, hostile KDF parameters and newer versions", () => {
  const kf = createKeyFile(master, "pw", opts);
  const doc = JSON.parse(Buffer.from(kf.bytes).toString()) as Record<
    string,
    Record<string, unknown>
  >;
  const with_ = (f: (d: typeof doc) => void) => {
    const d = structuredClone(doc);
    f(d);
    return Buffer.from(JSON.stringify(d));
  };
  assert.throws(
    () =>
      openKeyFile(
        with_((d) => (d["kdf"]!["N"] = 2 ** 30)),
        "pw",
      ),
    (e) => isCofferError(e, "CORRUPT") && /out of range/.test(e.message),
  );
  assert.throws(
    () =>
      openKeyFile(
        with_((d) => (d["kdf"]!["N"] = 1000)),
        "pw",
      ),
    (e) => isCofferError(e, "CORRUPT"),
  );
  assert.throws(
    () =>
      openKeyFile(
        with_((d) => ((d as Record<string, unknown>)["v"] = 2)),
        "pw",
      ),
    (e) => isCofferError(e, "UNSUPPORTED_VERSION"),
  );
  assert.throws(
    () => openKeyFile(Buffer.from("garbage"), "pw"),
    (e) => isCofferError(e, "CORRUPT"),
  );
  assert.throws(
    () => createKeyFile(master, "pw", { ...opts, kdf: { N: 3, r: 8, p: 1 } }),
    (e) => isCofferError(e, "BAD_INPUT"),
  );
});
