import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { blobId, objectId, shortId } from "./ids.ts";

test("blobId() is HMAC-SHA256 keyed by the MAC key (RFC 4231 case 2)", () => {
  const id = blobId(Buffer.from("Jefe"), Buffer.from("what do ya want for nothing?"));
  assert.equal(
    id.toString("hex"),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  assert.notDeepEqual(
    blobId(Buffer.alloc(32, 1), Buffer.from("x")),
    blobId(Buffer.alloc(32, 2), Buffer.from("x")),
  );
});

test("objectId() is the hex SHA-256 of the stored bytes", () => {
  assert.equal(objectId(Buffer.from("abc")), createHash("sha256").update("abc").digest("hex"));
  assert.equal(
    objectId(new Uint8Array(0)),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

test("shortId() gives the first 8 hex characters", () => {
  assert.equal(shortId("3fa1c2d4ffff"), "3fa1c2d4");
  assert.equal(shortId(Buffer.from([0x3f, 0xa1, 0xc2, 0xd4, 0xff])), "3fa1c2d4");
});
