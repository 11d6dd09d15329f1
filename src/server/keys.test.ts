import assert from "node:assert/strict";
import { test } from "node:test";
import { isScratch } from "./keys.ts";

test("isScratch() matches a scratch prefix as whole path segments at any depth", () => {
  const p = ["locks/"];
  assert.equal(isScratch("locks/abc", p), true);
  assert.equal(isScratch("restic/locks/abc", p), true);
  assert.equal(isScratch("hosts/web-01/restic/locks/abc", p), true);
  assert.equal(isScratch("restic/data/ab/abc", p), false);
  assert.equal(isScratch("mylocks/abc", p), false);
  assert.equal(isScratch("restic/mylocks/abc", p), false);
  assert.equal(isScratch("locksmith/abc", p), false);
  assert.equal(isScratch("locks", p), false);
});
