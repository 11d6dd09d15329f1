import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { exportMasterKey, exportMasterKeyPaper, importMasterKey } from "./key-export.ts";
import { generateMasterKey } from "./master-key.ts";
import { deterministicRandom } from "./testing/deterministic-random.ts";

const random = deterministicRandom("export");
const master = generateMasterKey(random);
const repoId = Buffer.from(random(32)).toString("hex");

test("exportMasterKey() JSON form round-trips through importMasterKey()", () => {
  const text = exportMasterKey(master, repoId);
  assert.equal((JSON.parse(text) as { coffer: string }).coffer, "master-key");
  assert.deepEqual(importMasterKey(text), { master, repoId });
});

test("exportMasterKeyPaper() round-trips, tolerating case and spacing changes", () => {
  const paper = exportMasterKeyPaper(master, repoId);
  assert.equal(paper.split("\n").filter((l) => /^\d\d {2}/.test(l)).length, 8);
  assert.deepEqual(importMasterKey(paper), { master, repoId });
  const retyped = paper
    .toUpperCase()
    .replace(/ {2}/g, "   ")
    .replace(/\n/g, "\r\n")
    .replace("COFFER MASTER KEY V1", "my notes");
  assert.deepEqual(importMasterKey(retyped.replace("CHECK", "check")), { master, repoId });
});

test("importMasterKey() names the line with a typo", () => {
  const paper = exportMasterKeyPaper(master, repoId);
  const lines = paper.split("\n");
  const i = lines.findIndex((l) => l.startsWith("05  "));
  const l = lines[i]!;
  const c = l[4] === "0" ? "1" : "0";
  lines[i] = l.slice(0, 4) + c + l.slice(5);
  assert.throws(
    () => importMasterKey(lines.join("\n")),
    (e) =>
      isCofferError(e, "BAD_INPUT") &&
      e.message === "Cannot import master key: line 5 checksum mismatch (typo on that line?)",
  );
  assert.throws(
    () => importMasterKey(paper.replace(/^03 .*$/m, "")),
    (e) => isCofferError(e, "BAD_INPUT") && /line 3 is missing/.test(e.message),
  );
  assert.throws(
    () => importMasterKey(paper.replace(/^check .*$/m, "")),
    (e) => isCofferError(e, "BAD_INPUT") && /check/.test(e.message),
  );
  assert.throws(
    () => importMasterKey('{"coffer":"master-key","v":1}'),
    (e) => isCofferError(e, "BAD_INPUT"),
  );
  assert.throws(
    () => importMasterKey('{"coffer":"master-key","v":9}'),
    (e) => isCofferError(e, "UNSUPPORTED_VERSION"),
  );
});
