import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAuthorizationHeader, parseCredential, parsePresignedQuery } from "./authorization.ts";

const SIG = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";

test("parseAuthorizationHeader() accepts comma/space variants and any component order", () => {
  for (const h of [
    `AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${SIG}`,
    `AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-date,Signature=${SIG}`,
    `AWS4-HMAC-SHA256 Signature=${SIG},  SignedHeaders=host;x-amz-date , Credential=AK/20130524/us-east-1/s3/aws4_request`,
  ]) {
    const r = parseAuthorizationHeader(h);
    assert.ok(r.ok, r.ok ? "" : r.message);
    assert.equal(r.auth.accessKeyId, "AK");
    assert.deepEqual(r.auth.scope, { date: "20130524", region: "us-east-1", service: "s3" });
    assert.deepEqual(r.auth.signedHeaders, ["host", "x-amz-date"]);
  }
});

test("parseAuthorizationHeader() refuses malformed headers with a reason", () => {
  const good = `Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${SIG}`;
  for (const h of [
    `AWS4-HMAC-SHA1 ${good}`,
    "AWS4-HMAC-SHA256 ",
    `AWS4-HMAC-SHA256 ${good}, Signature=${SIG}`,
    `AWS4-HMAC-SHA256 ${good}, Extra=1`,
    `AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=XYZ`,
    `AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws5_request, SignedHeaders=host, Signature=${SIG}`,
    `AWS4-HMAC-SHA256 Credential=AK/2013-05-24/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${SIG}`,
    `AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=Host, Signature=${SIG}`,
    `AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=, Signature=${SIG}`,
  ]) {
    const r = parseAuthorizationHeader(h);
    assert.equal(r.ok, false, h);
  }
});

test("parseCredential() and parsePresignedQuery() validate every part", () => {
  assert.equal(typeof parseCredential("AK/20130524/us-east-1/s3"), "string");
  assert.equal(typeof parseCredential("/20130524/us-east-1/s3/aws4_request"), "string");
  const q = new Map([
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", "AK/20130524/us-east-1/s3/aws4_request"],
    ["X-Amz-SignedHeaders", "host"],
    ["X-Amz-Signature", SIG],
  ]);
  assert.ok(parsePresignedQuery(q).ok);
  assert.equal(
    parsePresignedQuery(new Map([...q, ["X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256"]])).ok,
    false,
  );
  const noSig = new Map(q);
  noSig.delete("X-Amz-Signature");
  assert.equal(parsePresignedQuery(noSig).ok, false);
});
