import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { canonicalRequest } from "./canonical-request.ts";
import { deriveSigningKey, sha256Hex, signature, stringToSign } from "./signing.ts";
import { presignUrl } from "./presign-url.ts";
import { signRequest } from "./sign-request.ts";
import { uriEncode } from "./uri-encode.ts";
import { verifyRequest, type VerifyResult, type SecretRecord } from "./verify-request.ts";

interface Example {
  name: string;
  method: string;
  path: string;
  query: string;
  body?: string;
  headers: Record<string, string>;
  signedHeaders: string;
  canonicalRequest?: string;
  canonicalRequestHash?: string;
  signature: string;
}
const ex = JSON.parse(
  readFileSync(new URL("../../testdata/sigv4/s3-examples.json", import.meta.url), "utf8"),
) as {
  accessKeyId: string;
  secretAccessKey: string;
  time: string;
  headerAuth: Example[];
  presigned: { method: string; path: string; host: string; expires: number; signature: string };
};
const T0 = Date.parse(ex.time);
const scope = { date: "20130524", region: "us-east-1", service: "s3" };
const creds = { accessKeyId: ex.accessKeyId, secretAccessKey: ex.secretAccessKey };
const lookup = (id: string): SecretRecord | undefined =>
  id === ex.accessKeyId ? { secret: ex.secretAccessKey } : undefined;

function authHeader(e: Example, sig = e.signature): string {
  return `AWS4-HMAC-SHA256 Credential=${ex.accessKeyId}/20130524/us-east-1/s3/aws4_request,SignedHeaders=${e.signedHeaders},Signature=${sig}`;
}
function expectFail(r: VerifyResult<SecretRecord>, code: string): void {
  if (r.ok) assert.fail(`expected ${code}, got success`);
  assert.equal(r.code, code, r.message);
  assert.ok(r.message.length > 0 && !r.message.includes("\n"));
}

for (const e of ex.headerAuth) {
  test(`S3 docs example '${e.name}': canonical request, signature and verifyRequest() agree`, () => {
    const creq = canonicalRequest({
      method: e.method,
      path: e.path,
      query: e.query,
      headers: e.headers,
      signedHeaders: e.signedHeaders.split(";"),
      payloadHash: e.headers["x-amz-content-sha256"]!,
    });
    if (e.canonicalRequest !== undefined) assert.equal(creq, e.canonicalRequest);
    if (e.canonicalRequestHash !== undefined)
      assert.equal(
        stringToSign("20130524T000000Z", scope, creq).split("\n")[3],
        e.canonicalRequestHash,
      );
    if (e.body !== undefined) assert.equal(sha256Hex(e.body), e.headers["x-amz-content-sha256"]);
    assert.equal(
      signature(
        deriveSigningKey(ex.secretAccessKey, scope),
        stringToSign("20130524T000000Z", scope, creq),
      ),
      e.signature,
    );
    const r = verifyRequest(
      {
        method: e.method,
        path: e.path,
        query: e.query,
        headers: { ...e.headers, authorization: authHeader(e) },
      },
      lookup,
      T0,
      { region: "us-east-1" },
    );
    assert.ok(r.ok, r.ok ? "" : r.message);
    assert.equal(r.accessKeyId, ex.accessKeyId);
    assert.equal(r.payloadMode, "hex");
    assert.equal(r.declaredSha256, e.headers["x-amz-content-sha256"]);
    assert.equal(r.seedSignature, e.signature);
  });
}

test("presignUrl() reproduces the S3 docs presigned GET and verifyRequest() accepts it within X-Amz-Expires only", () => {
  const p = ex.presigned;
  const url = presignUrl({ method: p.method, path: p.path, headers: { Host: p.host } }, creds, {
    region: "us-east-1",
    time: T0,
    expiresSeconds: p.expires,
  });
  assert.equal(url.signature, p.signature);
  const req = { method: "GET", path: p.path, query: url.query, headers: { host: p.host } };
  const ok = verifyRequest(req, lookup, T0 + 3600_000);
  assert.ok(ok.ok, ok.ok ? "" : ok.message);
  assert.equal(ok.authType, "presigned");
  assert.equal(ok.payloadMode, "unsigned");
  expectFail(verifyRequest(req, lookup, T0 + p.expires * 1000 + 1), "AccessDenied");
  expectFail(verifyRequest(req, lookup, T0 - 16 * 60_000), "AccessDenied");
  assert.ok(verifyRequest(req, lookup, T0 - 14 * 60_000).ok);
  const tampered = { ...req, path: "/other.txt" };
  expectFail(verifyRequest(tampered, lookup, T0), "SignatureDoesNotMatch");
  expectFail(
    verifyRequest(
      { ...req, query: url.query.replace("X-Amz-Expires=86400", "X-Amz-Expires=86401") },
      lookup,
      T0,
    ),
    "SignatureDoesNotMatch",
  );
});

test("verifyRequest() refuses presigned URLs valid for more than 7 days", () => {
  const url = presignUrl({ method: "GET", path: "/k", headers: { host: "h" } }, creds, {
    region: "us-east-1",
    time: T0,
    expiresSeconds: 604801,
  });
  expectFail(
    verifyRequest(
      { method: "GET", path: "/k", query: url.query, headers: { host: "h" } },
      lookup,
      T0,
    ),
    "AuthorizationQueryParametersError",
  );
});

function signed(time = T0, extra: Record<string, string> = {}) {
  return signRequest(
    {
      method: "PUT",
      path: "/bucket/key",
      query: "",
      headers: { host: "gw:8443", ...extra },
      body: "hello",
    },
    creds,
    { region: "us-east-1", time },
  );
}

test("verifyRequest() refuses a wrong signature, unknown key and tampering", () => {
  const s = signed();
  const req = { method: "PUT", path: "/bucket/key", query: "", headers: s.headers };
  assert.ok(verifyRequest(req, lookup, T0).ok);
  expectFail(verifyRequest({ ...req, method: "POST" }, lookup, T0), "SignatureDoesNotMatch");
  expectFail(verifyRequest({ ...req, path: "/bucket/key2" }, lookup, T0), "SignatureDoesNotMatch");
  expectFail(verifyRequest({ ...req, query: "x=1" }, lookup, T0), "SignatureDoesNotMatch");
  expectFail(
    verifyRequest({ ...req, headers: { ...s.headers, host: "evil" } }, lookup, T0),
    "SignatureDoesNotMatch",
  );
  expectFail(
    verifyRequest(req, () => ({ secret: "wrong" }), T0),
    "SignatureDoesNotMatch",
  );
  expectFail(
    verifyRequest(req, () => undefined, T0),
    "InvalidAccessKeyId",
  );
  const auth = s.headers.authorization as string;
  const flipped = auth.slice(0, -1) + (auth.endsWith("0") ? "1" : "0");
  expectFail(
    verifyRequest({ ...req, headers: { ...s.headers, authorization: flipped } }, lookup, T0),
    "SignatureDoesNotMatch",
  );
});

test("verifyRequest() refuses clocks off by more than 15 minutes and replays outside the window", () => {
  const s = signed();
  const req = { method: "PUT", path: "/bucket/key", query: "", headers: s.headers };
  assert.ok(verifyRequest(req, lookup, T0 + 15 * 60_000).ok);
  assert.ok(verifyRequest(req, lookup, T0 - 15 * 60_000).ok);
  expectFail(verifyRequest(req, lookup, T0 + 15 * 60_000 + 1000), "RequestTimeTooSkewed");
  expectFail(verifyRequest(req, lookup, T0 - 16 * 60_000), "RequestTimeTooSkewed");
  expectFail(verifyRequest(req, lookup, T0 + 86_400_000), "RequestTimeTooSkewed");
  const replayNewDate = { ...req, headers: { ...s.headers, "x-amz-date": "20130525T000000Z" } };
  expectFail(verifyRequest(replayNewDate, lookup, T0 + 86_400_000), "AuthorizationHeaderMalformed");
  const sameDay = { ...req, headers: { ...s.headers, "x-amz-date": "20130524T120000Z" } };
  expectFail(verifyRequest(sameDay, lookup, T0 + 12 * 3600_000), "SignatureDoesNotMatch");
});

test("verifyRequest() refuses malformed, anonymous, SigV2 and mixed auth with S3 codes", () => {
  const s = signed();
  const h = s.headers;
  const base = { method: "PUT", path: "/bucket/key", query: "" };
  expectFail(verifyRequest({ ...base, headers: { host: "x" } }, lookup, T0), "AccessDenied");
  expectFail(
    verifyRequest(
      { ...base, headers: { ...h, authorization: "AWS AKIAIOSFODNN7EXAMPLE:abc" } },
      lookup,
      T0,
    ),
    "InvalidRequest",
  );
  expectFail(
    verifyRequest(
      { ...base, headers: { ...h, authorization: "AWS4-HMAC-SHA256 Credential=x" } },
      lookup,
      T0,
    ),
    "AuthorizationHeaderMalformed",
  );
  expectFail(
    verifyRequest({ ...base, query: "X-Amz-Algorithm=AWS4-HMAC-SHA256", headers: h }, lookup, T0),
    "InvalidArgument",
  );
  const without = (name: string) =>
    Object.fromEntries(Object.entries(h).filter(([k]) => k !== name));
  const noDate = without("x-amz-date");
  expectFail(verifyRequest({ ...base, headers: noDate }, lookup, T0), "AccessDenied");
  const noSha = without("x-amz-content-sha256");
  expectFail(verifyRequest({ ...base, headers: noSha }, lookup, T0), "InvalidRequest");
  expectFail(
    verifyRequest({ ...base, headers: { ...h, "x-amz-content-sha256": "nope" } }, lookup, T0),
    "InvalidArgument",
  );
  expectFail(
    verifyRequest({ ...base, headers: { ...h, "x-amz-meta-evil": "1" } }, lookup, T0),
    "AccessDenied",
  );
  expectFail(
    verifyRequest({ ...base, headers: h }, lookup, T0, { region: "eu-west-1" }),
    "AuthorizationHeaderMalformed",
  );
  expectFail(
    verifyRequest({ ...base, headers: { ...h, "x-amz-security-token": "tok" } }, lookup, T0, {
      requireSignedAmzHeaders: false,
    }),
    "InvalidToken",
  );
});

test("verifyRequest() rejects an unsupported x-amz-content-sha256 and requires it for header auth", () => {
  const s = signRequest(
    {
      method: "PUT",
      path: "/k",
      headers: { host: "h" },
      payloadHash: "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
    },
    creds,
    { region: "us-east-1", time: T0 },
  );
  expectFail(
    verifyRequest({ method: "PUT", path: "/k", query: "", headers: s.headers }, lookup, T0),
    "InvalidArgument",
  );
  const s2 = signRequest(
    { method: "PUT", path: "/k", headers: { host: "h" }, payloadHash: "UNSIGNED-PAYLOAD" },
    creds,
    { region: "us-east-1", time: T0, signedHeaders: ["host", "x-amz-date"] },
  );
  const h = Object.fromEntries(
    Object.entries(s2.headers).filter(([k]) => k !== "x-amz-content-sha256"),
  );
  expectFail(
    verifyRequest({ method: "PUT", path: "/k", query: "", headers: h }, lookup, T0),
    "InvalidRequest",
  );
});

test("verifyRequest() accepts the Date header when x-amz-date is absent", () => {
  const s = signRequest(
    { method: "GET", path: "/k", headers: { host: "h", date: "Fri, 24 May 2013 00:00:00 GMT" } },
    creds,
    { region: "us-east-1", time: T0, omitAmzDate: true },
  );
  const r = verifyRequest({ method: "GET", path: "/k", query: "", headers: s.headers }, lookup, T0);
  assert.ok(r.ok, r.ok ? "" : r.message);
  assert.equal(r.amzDate, "20130524T000000Z");
});

test("verifyRequest() accepts requests signed by the AWS SDK's own SigV4 signer", async () => {
  const { SignatureV4 } = await import("@smithy/signature-v4");
  const { Sha256 } = await import("@smithy/core/checksum");
  const signer = new SignatureV4({
    service: "s3",
    region: "us-east-1",
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: true,
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
  });
  const cases = [
    // The S3 client escapes keys itself (uriEscapePath: false), as here.
    {
      path: uriEncode("/bucket/a b/c+d~(x)*!'", true),
      query: { prefix: "a/b c", "list-type": "2", empty: "" },
    },
    { path: "/bucket/%E2%9C%93.txt", query: { uploads: "" } },
  ];
  for (const c of cases) {
    const signedReq = await signer.sign(
      {
        method: "GET",
        protocol: "https:",
        hostname: "gw",
        path: c.path,
        query: c.query,
        headers: {
          host: "gw",
          "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
          "x-amz-meta-a": "  x   y ",
        },
      },
      { signingDate: new Date(T0) },
    );
    const rawQuery = Object.entries(c.query)
      .map(([k, v]) =>
        v === "" && k === "uploads"
          ? encodeURIComponent(k)
          : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`,
      )
      .join("&");
    const headers = Object.fromEntries(
      Object.entries(signedReq.headers).map(([k, v]) => [k.toLowerCase(), v]),
    );
    const rawPath = c.path;
    const r = verifyRequest({ method: "GET", path: rawPath, query: rawQuery, headers }, lookup, T0);
    assert.ok(r.ok, r.ok ? "" : `${c.path}: ${r.message}`);
    assert.equal(r.payloadMode, "unsigned");
  }
});

test("verifyRequest() accepts a session token only when the credential expects exactly it", () => {
  const tokenCreds = { ...creds, sessionToken: "tok-123" };
  const s = signRequest({ method: "GET", path: "/k", headers: { host: "h" } }, tokenCreds, {
    region: "us-east-1",
    time: T0,
  });
  const req = { method: "GET", path: "/k", query: "", headers: s.headers };
  const withToken = () => ({ secret: ex.secretAccessKey, sessionToken: "tok-123" });
  assert.ok(verifyRequest(req, withToken, T0).ok);
  expectFail(
    verifyRequest(req, () => ({ secret: ex.secretAccessKey, sessionToken: "tok-999" }), T0),
    "InvalidToken",
  );
  expectFail(verifyRequest(req, lookup, T0), "InvalidToken");
  const plain = signRequest({ method: "GET", path: "/k", headers: { host: "h" } }, creds, {
    region: "us-east-1",
    time: T0,
  });
  expectFail(verifyRequest({ ...req, headers: plain.headers }, withToken, T0), "InvalidToken");
});

test("verifyRequest() handles repeated headers as separate values (headersDistinct)", () => {
  const s = signRequest(
    { method: "GET", path: "/k", headers: { host: "h", "x-amz-meta-a": ["1", " 2 "] } },
    creds,
    { region: "us-east-1", time: T0 },
  );
  const req = { method: "GET", path: "/k", query: "", headers: s.headers };
  assert.ok(verifyRequest(req, lookup, T0).ok);
  expectFail(
    verifyRequest({ ...req, headers: { ...s.headers, "x-amz-meta-a": ["2", "1"] } }, lookup, T0),
    "SignatureDoesNotMatch",
  );
});
