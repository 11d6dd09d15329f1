import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { startTestGateway, type TestCreds, type TestGateway } from "./testing/harness.ts";

/** Deterministic PRNG (mulberry32): the same requests on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (s: string): string => createHash("sha256").update(s).digest("hex");

const KEYS = [
  "a",
  "a/b",
  "a/b/c",
  "a/b/c/d",
  "x%",
  "%zz",
  "..",
  "a/../b",
  ".",
  "a//b",
  "%00",
  "é/ü",
  "k".repeat(1100),
  "locks/l1",
  "r/locks/l2",
  `manifests/${hex("m")}`,
  "manifests/nothex",
  `index/${hex("i")}`,
  `data/ab/${hex("d")}`,
  `snapshots/${hex("s")}`,
  "status/x.json",
  "gateway/pending-deletions.json",
  "gateway/unavailable-packs.json",
  "a\\b",
  "trailing/",
  "sp ace",
  "plus+sign",
];
const QUERIES = [
  "",
  "uploads",
  "uploadId=00000000000000000000000000000000",
  "uploadId=zz",
  "partNumber=0&uploadId=00000000000000000000000000000000",
  "partNumber=-1&uploadId=zz",
  "partNumber=10001&uploadId=00000000000000000000000000000000",
  "partNumber=1",
  "partNumber=abc",
  "delete",
  "delete=",
  "list-type=2",
  "list-type=2&max-keys=-1",
  "list-type=2&max-keys=abc",
  "list-type=2&max-keys=99999999999999999999",
  "list-type=2&continuation-token=%%%",
  "list-type=2&continuation-token=",
  "list-type=2&continuation-token=bm90LWEtdG9rZW4",
  "list-type=2&start-after=%FF",
  "list-type=2&delimiter=&prefix=a",
  "list-type=2&fetch-owner=true",
  "list-type=3",
  "marker=%FF&max-keys=0",
  "prefix=%E9&encoding-type=url",
  "encoding-type=bogus",
  "location",
  "acl",
  "tagging",
  "versioning",
  "versions",
  "cors",
  "policy",
  "x-id=GetObject",
  "response-content-type=text/plain",
  "max-uploads=-5&uploads",
  "uploads&key-marker=%FF&upload-id-marker=zz",
  "part-number-marker=abc&max-parts=-1&uploadId=00000000000000000000000000000000",
  "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%%",
  "X-Amz-Credential=AKIA%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=x",
];
const HEADERS: Record<string, string>[] = [
  {},
  { range: "bytes=" },
  { range: "bytes=5-1" },
  { range: "bytes=-0" },
  { range: "bytes=0-0,2-3" },
  { range: "items=1-2" },
  { range: "bytes=99999999999999999999-" },
  { "content-md5": "not base64!" },
  { "content-md5": "AAAAAAAAAAAAAAAAAAAAAA==" },
  { "x-amz-checksum-crc32": "zzzz" },
  { "x-amz-checksum-sha256": "AAAA" },
  { "x-amz-checksum-algorithm": "MD4" },
  { "x-amz-sdk-checksum-algorithm": "CRC64NVME" },
  { "if-none-match": "abc" },
  { "if-none-match": "*" },
  { "if-match": "*" },
  { "if-modified-since": "garbage" },
  { "x-amz-copy-source": "/other/key" },
  { "x-amz-copy-source": "%%" },
  { "x-amz-decoded-content-length": "-1" },
  { "x-amz-decoded-content-length": "abc" },
  { "content-encoding": "aws-chunked" },
  { "x-amz-trailer": "x-amz-checksum-crc32" },
  { "x-amz-trailer": "x-amz-checksum-bogus" },
  { "x-amz-server-side-encryption": "AES256" },
  { "x-amz-server-side-encryption-customer-algorithm": "AES256" },
  { "x-amz-meta-a": "b" },
  { "content-type": "\u00e9" },
  { expect: "100-continue" },
];
const PAYLOAD_MODES = [
  undefined,
  "UNSIGNED-PAYLOAD",
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
  "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
  "0".repeat(64),
  "nonsense",
];

function xmlBodies(pick: <T>(a: readonly T[]) => T): string {
  const charRef = pick([
    "&#x110000;",
    "&#0;",
    "&#xD800;",
    "&#99999999999;",
    "&#x41;",
    "&bogus;",
    "&#;",
  ]);
  return pick([
    `<Delete><Object><Key>a${charRef}</Key></Object></Delete>`,
    `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"${charRef}"</ETag></Part></CompleteMultipartUpload>`,
    `<CompleteMultipartUpload><Part><PartNumber>${pick(["-1", "1e400", "x", "99999999999999999999"])}</PartNumber></Part></CompleteMultipartUpload>`,
    "<Delete>" + "<Object><Key>k</Key></Object>".repeat(1001) + "</Delete>",
    "<Delete><Object><Key></Key></Object></Delete>",
    "<Delete><Quiet>maybe</Quiet></Delete>",
    "<".repeat(1000),
    "<Delete><Object><Key>" + "a".repeat(2000) + "</Key></Object></Delete>",
    "not xml at all",
    "",
  ]);
}

describe("gateway fuzz: malformed requests never reach 500", () => {
  let gw: TestGateway;
  let a: TestCreds;
  before(async () => {
    gw = await startTestGateway();
    a = await gw.addSource("fuzz-01");
    await gw.signed(a, { method: "PUT", path: `/${a.bucket}/a`, body: "object a" });
  });
  after(async () => {
    await gw.close();
  });

  test("a character reference above U+10FFFF in DeleteObjects or CompleteMultipartUpload is 400 MalformedXML", async () => {
    const del = "<Delete><Object><Key>a&#x110000;</Key></Object></Delete>";
    const r1 = await gw.signed(a, {
      method: "POST",
      path: `/${a.bucket}`,
      query: "delete",
      headers: { "content-md5": createHash("md5").update(del).digest("base64") },
      body: del,
    });
    assert.equal(r1.status, 400, r1.body.toString());
    assert.match(r1.body.toString(), /<Code>MalformedXML<\/Code>/);
    const up = await gw.signed(a, { method: "POST", path: `/${a.bucket}/mp`, query: "uploads" });
    const id = /<UploadId>([^<]+)<\/UploadId>/.exec(up.body.toString())?.[1] ?? "";
    const done = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"&#1114112;"</ETag></Part></CompleteMultipartUpload>`;
    const r2 = await gw.signed(a, {
      method: "POST",
      path: `/${a.bucket}/mp`,
      query: `uploadId=${id}`,
      body: done,
    });
    assert.equal(r2.status, 400, r2.body.toString());
    assert.match(r2.body.toString(), /<Code>MalformedXML<\/Code>/);
  });

  test("with a stored, PUT a/b/c (and the reverse) is a 409 naming the conflict, not a 500", async () => {
    const r = await gw.signed(a, { method: "PUT", path: `/${a.bucket}/a/b/c`, body: "c" });
    assert.equal(r.status, 409, r.body.toString());
    assert.match(r.body.toString(), /Cannot store a\/b\/c: a is an object/);
    await gw.signed(a, { method: "PUT", path: `/${a.bucket}/p/q/r`, body: "r" });
    const r2 = await gw.signed(a, { method: "PUT", path: `/${a.bucket}/p/q`, body: "q" });
    assert.equal(r2.status, 409, r2.body.toString());
    assert.match(r2.body.toString(), /objects exist under p\/q\//);
    const up = await gw.signed(a, { method: "POST", path: `/${a.bucket}/a/x`, query: "uploads" });
    assert.equal(up.status, 409);
  });

  test("N seeded malformed requests (signed and unsigned): 0 × 500", async () => {
    const n = Number(process.env.COFFER_FUZZ_N ?? "3000");
    const rnd = prng(Number(process.env.COFFER_FUZZ_SEED ?? "11"));
    const pick = <T>(arr: readonly T[]): T => arr[Math.floor(rnd() * arr.length)] as T;
    const statuses = new Map<number, number>();
    const fivehundreds: string[] = [];
    for (let i = 0; i < n; i++) {
      const method = pick(["GET", "PUT", "POST", "DELETE", "HEAD", "GET", "PUT", "POST"]);
      const key = rnd() < 0.1 ? "" : pick(KEYS);
      const bucket = rnd() < 0.05 ? pick(["", "other", "FUZZ-01", "%zz"]) : a.bucket;
      const path = `/${bucket}${bucket === "" ? "" : "/"}${encodeURI(key).replace(/%25/g, "%")}`;
      const query = pick(QUERIES);
      const headers: Record<string, string> = {
        ...pick(HEADERS),
        ...(rnd() < 0.3 ? pick(HEADERS) : {}),
      };
      const body =
        rnd() < 0.4
          ? xmlBodies(pick)
          : rnd() < 0.5
            ? ""
            : Buffer.from(
                Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)),
              ).toString("latin1");
      const mode = pick(PAYLOAD_MODES);
      let r;
      try {
        if (rnd() < 0.15) {
          r = await gw.raw({ method, path: query ? `${path}?${query}` : path, headers, body });
        } else {
          r = await gw.signed(a, {
            method,
            path,
            query,
            headers,
            body: Buffer.from(body, "latin1"),
            ...(mode !== undefined ? { payloadHash: mode } : {}),
          });
        }
      } catch (err) {
        // The client itself refused to send it (e.g. an invalid header value): not a server answer.
        if (err instanceof TypeError) continue;
        throw err;
      }
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 500)
        fivehundreds.push(
          `${method} ${path}?${query} ${JSON.stringify(headers)} ${mode ?? ""} → ${r.status} ${r.body.toString().slice(0, 300)}`,
        );
    }
    const summary = [...statuses]
      .sort((x, y) => x[0] - y[0])
      .map(([s, c]) => `${s}×${c}`)
      .join(" ");
    console.log(`gateway fuzz: ${n} requests: ${summary}`);
    assert.deepEqual(fivehundreds.slice(0, 20), [], `${fivehundreds.length} × 500 of ${n}`);
  });
});
