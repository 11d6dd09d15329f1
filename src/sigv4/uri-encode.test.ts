import assert from "node:assert/strict";
import { test } from "node:test";
import { formatAmzDate, parseAmzDate, parseHttpDate } from "./amz-date.ts";
import { percentDecode, uriEncode } from "./uri-encode.ts";

test("uriEncode() keeps only unreserved characters (and / when asked)", () => {
  assert.equal(uriEncode("a-b_c.d~e"), "a-b_c.d~e");
  assert.equal(uriEncode("a b+c*d!e'(f)"), "a%20b%2Bc%2Ad%21e%27%28f%29");
  assert.equal(uriEncode("a/b"), "a%2Fb");
  assert.equal(uriEncode("a/b", true), "a/b");
  assert.equal(uriEncode("\u00e9"), "%C3%A9");
  assert.equal(uriEncode(new Uint8Array([0xff, 0x00])), "%FF%00");
});

test("percentDecode() decodes bytes, keeps stray % and optionally maps + to space", () => {
  assert.deepEqual(percentDecode("%41%e9%FF"), Buffer.from([0x41, 0xe9, 0xff]));
  assert.equal(percentDecode("100%").toString(), "100%");
  assert.equal(percentDecode("%zz%4").toString(), "%zz%4");
  assert.equal(percentDecode("a+b").toString(), "a+b");
  assert.equal(percentDecode("a+b", true).toString(), "a b");
  assert.equal(percentDecode("\u1234").toString(), "\u1234");
});

test("parseAmzDate() / formatAmzDate() round-trip and reject impossible dates", () => {
  const ms = Date.UTC(2013, 4, 24, 0, 0, 0);
  assert.equal(parseAmzDate("20130524T000000Z"), ms);
  assert.equal(formatAmzDate(ms), "20130524T000000Z");
  assert.equal(formatAmzDate(Date.UTC(2026, 11, 31, 23, 59, 59, 999)), "20261231T235959Z");
  for (const bad of [
    "20130230T000000Z",
    "20130524T240000Z",
    "20130524T000060Z",
    "20130524T000000",
    "2013-05-24T00:00:00Z",
    "",
  ]) {
    assert.equal(parseAmzDate(bad), undefined, bad);
  }
  assert.equal(parseHttpDate("Fri, 24 May 2013 00:00:00 GMT"), ms);
  assert.equal(parseHttpDate("yesterday"), undefined);
});
