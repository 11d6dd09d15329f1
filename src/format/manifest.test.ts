import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { objectId } from "./ids.ts";
import { encodeManifest, type Manifest, parseManifest } from "./manifest.ts";

const M: Manifest = {
  v: 1,
  snapshot: "1".repeat(64),
  host: "web1",
  tags: ["daily", "prod"],
  time: "2024-05-06T07:08:09.000000000Z",
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
  packs: ["3".repeat(64), "2".repeat(64), "3".repeat(64)],
};

test("encodeManifest() sorts and de-duplicates packs; parseManifest() reads it back", () => {
  const { id, bytes } = encodeManifest(M);
  assert.equal(id, objectId(bytes));
  assert.deepEqual(parseManifest(bytes), { ...M, packs: ["2".repeat(64), "3".repeat(64)] });
});

test("parseManifest() strictly rejects untrusted junk with BAD_INPUT", () => {
  const good = JSON.parse(Buffer.from(encodeManifest(M).bytes).toString()) as Record<
    string,
    unknown
  >;
  const bad = (patch: Record<string, unknown>, re: RegExp) => {
    assert.throws(
      () => parseManifest(Buffer.from(JSON.stringify({ ...good, ...patch }))),
      (e) => isCofferError(e, "BAD_INPUT") && re.test(e.message),
      JSON.stringify(patch),
    );
  };
  bad({ extra: 1 }, /extra/);
  bad({ snapshot: "../../etc/passwd" }, /snapshot/);
  bad({ packs: ["2".repeat(64), "2".repeat(64)] }, /sorted and unique/);
  bad({ packs: ["3".repeat(64), "2".repeat(64)] }, /sorted/);
  bad({ packs: ["Z".repeat(64)] }, /packs/);
  bad({ host: "a\nb" }, /control/);
  bad({ tags: ["x".repeat(300)] }, /tags/);
  bad({ time: "2024-13-01T00:00:00Z" }, /time/);
  bad({ stats: { ...M.stats, files: -1 } }, /files/);
  bad({ stats: { ...M.stats, __proto__x: 1 } }, /counter/);
  assert.throws(
    () => parseManifest(Buffer.from(JSON.stringify({ ...good, v: 2 }))),
    (e) => isCofferError(e, "UNSUPPORTED_VERSION"),
  );
  assert.throws(
    () => parseManifest(Buffer.from("[]")),
    (e) => isCofferError(e, "BAD_INPUT"),
  );
  assert.throws(
    () => parseManifest(encodeManifest(M).bytes, { maxBytes: 100 }),
    (e) => isCofferError(e, "BAD_INPUT") && /exceeds/.test(e.message),
  );
  assert.throws(
    () => encodeManifest({ ...M, host: "x\u0000" }),
    (e) => isCofferError(e, "BAD_INPUT"),
  );
});
