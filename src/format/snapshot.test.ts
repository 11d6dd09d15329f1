import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { generateMasterKey } from "./master-key.ts";
import { decodeSnapshot, encodeSnapshot, type Snapshot } from "./snapshot.ts";
import { seal } from "./seal.ts";
import { deterministicRandom } from "./testing/deterministic-random.ts";

const random = deterministicRandom("snapshot");
const master = generateMasterKey(random);
export const SNAP: Snapshot = {
  v: 1,
  time: "2024-05-06T07:08:09.123456789Z",
  host: "db1",
  paths: ["/srv/data"],
  tags: ["daily"],
  tree: "e".repeat(64),
  parent: "f".repeat(64),
  username: "root",
  hostname: "db1.example",
  program: "coffer 0.1.0",
  stats: {
    files: 3,
    dirs: 1,
    bytes: 100,
    newFiles: 1,
    changedFiles: 1,
    unchangedFiles: 1,
    addedBytes: 40,
    storedBytes: 30,
  },
  meta: { kind: "pg_dump" },
};

test("encodeSnapshot()/decodeSnapshot() round-trip", () => {
  const { id, bytes } = encodeSnapshot(master, SNAP, random);
  assert.deepEqual(decodeSnapshot(master, bytes, id), SNAP);
  const minimal: Snapshot = { ...SNAP };
  delete minimal.parent;
  delete minimal.meta;
  assert.deepEqual(decodeSnapshot(master, encodeSnapshot(master, minimal, random).bytes), minimal);
});

test("decodeSnapshot() rejects tampering, bad fields and other versions", () => {
  const { id, bytes } = encodeSnapshot(master, SNAP, random);
  const t = Buffer.from(bytes);
  t[40]! ^= 1;
  assert.throws(
    () => decodeSnapshot(master, t, id),
    (e) =>
      isCofferError(e, "CORRUPT") &&
      e.message === `Cannot open snapshot ${id.slice(0, 8)}: authentication failed`,
  );
  const sealDoc = (d: unknown) =>
    seal(master.encKey, "snapshot", Buffer.from(JSON.stringify(d)), random);
  assert.throws(
    () => decodeSnapshot(master, sealDoc({ ...SNAP, v: 2 })),
    (e) => isCofferError(e, "UNSUPPORTED_VERSION"),
  );
  assert.throws(
    () => decodeSnapshot(master, sealDoc({ ...SNAP, time: "yesterday" })),
    (e) => isCofferError(e, "CORRUPT") && /time/.test(e.message),
  );
  assert.throws(
    () => decodeSnapshot(master, sealDoc({ ...SNAP, tree: "x" })),
    (e) => isCofferError(e, "CORRUPT") && /tree/.test(e.message),
  );
  assert.throws(
    () => decodeSnapshot(master, sealDoc({ ...SNAP, stats: { files: 1 } })),
    (e) => isCofferError(e, "CORRUPT") && /dirs/.test(e.message),
  );
});
