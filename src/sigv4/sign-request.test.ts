import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@smithy/core/checksum";
import { presignUrl } from "./presign-url.ts";
import { signRequest } from "./sign-request.ts";
import { verifyRequest } from "./verify-request.ts";

const creds = {
  accessKeyId: "AKIDCOFFER",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const T0 = Date.UTC(2026, 4, 6, 7, 8, 9);
const sdk = new SignatureV4({
  service: "s3",
  region: "eu-west-3",
  sha256: Sha256,
  uriEscapePath: false,
  credentials: creds,
});

test("signRequest() produces the same Authorization as the AWS SDK's SignatureV4", async () => {
  const headers = {
    host: "gw.example:8443",
    "x-amz-meta-note": "  two   spaces ",
    "content-type": "application/octet-stream",
  };
  const mine = signRequest(
    {
      method: "PUT",
      path: "/b/k%20ey",
      query: "partNumber=2&uploadId=a%2Fb",
      headers,
      body: "payload",
    },
    creds,
    { region: "eu-west-3", time: T0 },
  );
  const theirs = await sdk.sign(
    {
      method: "PUT",
      protocol: "https:",
      hostname: "gw.example",
      port: 8443,
      path: "/b/k%20ey",
      query: { partNumber: "2", uploadId: "a/b" },
      headers: {
        ...headers,
        "x-amz-content-sha256": mine.headers["x-amz-content-sha256"] as string,
      },
      body: "payload",
    },
    { signingDate: new Date(T0) },
  );
  assert.equal(mine.headers.authorization, theirs.headers.authorization);
});

test("presignUrl() produces the same X-Amz-Signature as the AWS SDK's presign", async () => {
  const mine = presignUrl(
    { method: "GET", path: "/b/a%2Bb", query: "versionId=3", headers: { host: "gw" } },
    creds,
    { region: "eu-west-3", time: T0, expiresSeconds: 900 },
  );
  // As @aws-sdk/s3-request-presigner does: payload UNSIGNED-PAYLOAD, that header neither signed nor hoisted.
  const theirs = await sdk.presign(
    {
      method: "GET",
      protocol: "https:",
      hostname: "gw",
      path: "/b/a%2Bb",
      query: { versionId: "3" },
      headers: { host: "gw", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    },
    {
      signingDate: new Date(T0),
      expiresIn: 900,
      unsignableHeaders: new Set(["x-amz-content-sha256"]),
      unhoistableHeaders: new Set(["x-amz-content-sha256"]),
    },
  );
  assert.equal(mine.signature, theirs.query?.["X-Amz-Signature"]);
  const r = verifyRequest(
    { method: "GET", path: "/b/a%2Bb", query: mine.query, headers: { host: "gw" } },
    () => ({ secret: creds.secretAccessKey }),
    T0 + 899_000,
    { region: "eu-west-3" },
  );
  assert.ok(r.ok, r.ok ? "" : r.message);
});

test("verifyRequest() accepts the S3 docs chunked-upload request and returns its seed signature", () => {
  const ex = JSON.parse(
    readFileSync(new URL("../../testdata/sigv4/s3-examples.json", import.meta.url), "utf8"),
  ) as {
    accessKeyId: string;
    secretAccessKey: string;
    time: string;
    streaming: {
      method: string;
      path: string;
      headers: Record<string, string>;
      signedHeaders: string;
      seedSignature: string;
    };
  };
  const s = ex.streaming;
  const authorization = `AWS4-HMAC-SHA256 Credential=${ex.accessKeyId}/20130524/us-east-1/s3/aws4_request,SignedHeaders=${s.signedHeaders},Signature=${s.seedSignature}`;
  const r = verifyRequest(
    { method: s.method, path: s.path, query: "", headers: { ...s.headers, authorization } },
    (id) => (id === ex.accessKeyId ? { secret: ex.secretAccessKey } : undefined),
    Date.parse(ex.time),
  );
  assert.ok(r.ok, r.ok ? "" : r.message);
  assert.equal(r.payloadMode, "streaming-signed");
  assert.equal(r.seedSignature, s.seedSignature);
});
