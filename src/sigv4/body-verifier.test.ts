import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { test } from "node:test";
import { createHash } from "node:crypto";
import { getAwsChunkedEncodingStream } from "@smithy/core/serde";
import { readableStreamHasher } from "@smithy/core/checksum";
import { Crc32 as SdkCrc32, Crc64Nvme as SdkCrc64Nvme } from "@aws-sdk/checksums/crc";
import { createBodyVerifier, type BodyAuth } from "./body-verifier.ts";
import { checksumBase64 } from "./checksum.ts";
import { chunkedRequestHeaders, encodeChunked, streamingContentSha256 } from "./encode-chunked.ts";
import { isSigV4Error } from "./errors.ts";
import { signRequest } from "./sign-request.ts";
import { sha256Hex } from "./signing.ts";
import { verifyRequest } from "./verify-request.ts";

const creds = { accessKeyId: "AKIDCOFFER", secretAccessKey: "s3cr3t/with+chars" };
const lookup = (id: string) =>
  id === creds.accessKeyId ? { secret: creds.secretAccessKey, source: "web-01" } : undefined;
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31 + (i >> 7)) & 0xff));

function run(
  auth: BodyAuth,
  headers: Record<string, string | readonly string[]>,
  body: Uint8Array,
  split = 4093,
) {
  const v = createBodyVerifier(auth, headers);
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += split)
    for (const p of v.push(body.subarray(i, i + split))) out.push(Buffer.from(p));
  return { data: Buffer.concat(out), result: v.end() };
}
function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => isSigV4Error(e) && e.s3Code === code);
}

/** Signs a chunked PUT end to end: headers from encodeChunked are signed, then the body chained. */
function chunkedPut(
  signed: boolean,
  trailer: "CRC32" | "CRC64NVME" | undefined,
  time = T0,
  tamper?: (b: Buffer) => void,
) {
  const s = signRequest(
    {
      method: "PUT",
      path: "/web-01/data/ab/cd",
      headers: { host: "gw", ...chunkedRequestHeaders(data.length, trailer) },
      payloadHash: streamingContentSha256(signed, trailer !== undefined),
    },
    creds,
    { region: "us-east-1", time },
  );
  const enc = encodeChunked(data, {
    chunkSize: 65536,
    ...(signed
      ? {
          signing: {
            signingKey: s.signingKey,
            amzDate: s.amzDate,
            scope: s.scope,
            seedSignature: s.signature,
          },
        }
      : {}),
    ...(trailer ? { trailer: { algorithm: trailer } } : {}),
  });
  tamper?.(enc.body);
  return { headers: s.headers, body: enc.body };
}

for (const [signed, trailer] of [
  [true, undefined],
  [true, "CRC32"],
  [false, "CRC64NVME"],
] as const) {
  test(`verifyRequest() + createBodyVerifier() accept a ${signed ? "signed" : "unsigned"}${trailer ? ` ${trailer}-trailer` : ""} aws-chunked PUT and refuse its tampered copy`, () => {
    const put = chunkedPut(signed, trailer);
    const auth = verifyRequest(
      { method: "PUT", path: "/web-01/data/ab/cd", query: "", headers: put.headers },
      lookup,
      T0 + 60_000,
    );
    assert.ok(auth.ok, auth.ok ? "" : auth.message);
    assert.equal(auth.credential.source, "web-01");
    const r = run(auth, put.headers, put.body);
    assert.ok(r.data.equals(data));
    assert.equal(r.result.length, data.length);
    const bad = Buffer.from(put.body);
    bad[100_000] = bad[100_000]! ^ 1;
    rejects(() => run(auth, put.headers, bad), signed ? "SignatureDoesNotMatch" : "BadDigest");
    rejects(
      () => run(auth, put.headers, put.body.subarray(0, put.body.length - 7)),
      "IncompleteBody",
    );
  });
}

test("a replayed aws-chunked PUT signed yesterday is refused before its body is read", () => {
  const put = chunkedPut(true, "CRC32", T0 - 86_400_000);
  const auth = verifyRequest(
    { method: "PUT", path: "/web-01/data/ab/cd", query: "", headers: put.headers },
    lookup,
    T0,
  );
  if (auth.ok) assert.fail("a replay was accepted");
  assert.equal(auth.code, "RequestTimeTooSkewed");
});

test("createBodyVerifier() decodes what the AWS SDK's own aws-chunked encoder produces (unsigned trailer)", async () => {
  for (const [Ctor, name] of [
    [SdkCrc32, "x-amz-checksum-crc32"],
    [SdkCrc64Nvme, "x-amz-checksum-crc64nvme"],
  ] as const) {
    const pieces = [data.subarray(0, 1), data.subarray(1, 70_000), data.subarray(70_000)];
    const encoded = getAwsChunkedEncodingStream(Readable.from(pieces), {
      base64Encoder: (b: Uint8Array) => Buffer.from(b).toString("base64"),
      bodyLengthChecker: (b: { length: number }) => b.length,
      checksumAlgorithmFn: Ctor,
      checksumLocationName: name,
      streamHasher: readableStreamHasher,
    });
    const chunks: Buffer[] = [];
    for await (const c of encoded) chunks.push(Buffer.from(c as Uint8Array | string));
    const body = Buffer.concat(chunks);
    const auth: BodyAuth = {
      payloadMode: "streaming-unsigned-trailer",
      signingKey: Buffer.alloc(32),
      amzDate: "",
      scope: { date: "", region: "", service: "" },
      seedSignature: "",
    };
    const headers = {
      "x-amz-trailer": name,
      "x-amz-decoded-content-length": String(data.length),
      "content-encoding": "aws-chunked",
    };
    const r = run(auth, headers, body, 1000);
    assert.ok(r.data.equals(data));
    assert.ok(r.result.checksums.has(name));
  }
});

const plain = (hash: string): BodyAuth => ({
  payloadMode: hash === "UNSIGNED-PAYLOAD" ? "unsigned" : "hex",
  ...(hash === "UNSIGNED-PAYLOAD" ? {} : { declaredSha256: hash }),
  signingKey: Buffer.alloc(32),
  amzDate: "",
  scope: { date: "", region: "", service: "" },
  seedSignature: "",
});

test("createBodyVerifier() checks a hex x-amz-content-sha256 against the body", () => {
  assert.equal(run(plain(sha256Hex(data)), {}, data).result.length, data.length);
  rejects(() => run(plain(sha256Hex(data)), {}, data.subarray(1)), "XAmzContentSHA256Mismatch");
});

test("createBodyVerifier() checks x-amz-checksum-* headers and Content-MD5 on plain PUTs", () => {
  for (const alg of ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const) {
    const name = `x-amz-checksum-${alg.toLowerCase()}`;
    const h = { [name]: checksumBase64(alg, data), "x-amz-sdk-checksum-algorithm": alg };
    assert.equal(run(plain("UNSIGNED-PAYLOAD"), h, data).result.checksums.get(name), h[name]);
    rejects(
      () => run(plain("UNSIGNED-PAYLOAD"), h, Buffer.concat([data, Buffer.from("x")])),
      "BadDigest",
    );
  }
  rejects(
    () => createBodyVerifier(plain("UNSIGNED-PAYLOAD"), { "x-amz-checksum-crc32": "not base64!" }),
    "InvalidRequest",
  );
  rejects(
    () =>
      createBodyVerifier(plain("UNSIGNED-PAYLOAD"), {
        "x-amz-checksum-crc32": "AAAAAA==",
        "x-amz-checksum-sha1": checksumBase64("SHA1", data),
      }),
    "InvalidRequest",
  );
  const md5 = createHash("md5").update(data).digest("base64");
  assert.equal(
    run(plain("UNSIGNED-PAYLOAD"), { "content-md5": md5 }, data).result.length,
    data.length,
  );
  rejects(
    () => run(plain("UNSIGNED-PAYLOAD"), { "content-md5": md5 }, data.subarray(2)),
    "BadDigest",
  );
  rejects(
    () => createBodyVerifier(plain("UNSIGNED-PAYLOAD"), { "content-md5": "abc" }),
    "InvalidDigest",
  );
});

test("createBodyVerifier() requires the checksum that x-amz-sdk-checksum-algorithm announces", () => {
  const u = plain("UNSIGNED-PAYLOAD");
  rejects(
    () => createBodyVerifier(u, { "x-amz-sdk-checksum-algorithm": "CRC32" }),
    "InvalidRequest",
  );
  rejects(() => createBodyVerifier(u, { "x-amz-sdk-checksum-algorithm": "MD5" }), "InvalidRequest");
  const s: BodyAuth = { ...u, payloadMode: "streaming-unsigned-trailer" };
  const h = {
    "x-amz-sdk-checksum-algorithm": "CRC32",
    "x-amz-trailer": "x-amz-checksum-crc32",
    "x-amz-decoded-content-length": "0",
  };
  assert.equal(
    run(s, h, Buffer.from("0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")).result.length,
    0,
  );
});

test("createBodyVerifier() refuses inconsistent aws-chunked headers", () => {
  const s: BodyAuth = { ...plain("UNSIGNED-PAYLOAD"), payloadMode: "streaming-unsigned-trailer" };
  rejects(() => createBodyVerifier(s, {}), "InvalidRequest");
  rejects(() => createBodyVerifier(s, { "x-amz-decoded-content-length": "-1" }), "InvalidRequest");
  rejects(
    () =>
      createBodyVerifier(s, { "x-amz-decoded-content-length": "1", "x-amz-trailer": "x-amz-foo" }),
    "InvalidRequest",
  );
});
