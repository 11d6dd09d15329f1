import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { AwsChunkedDecoder, type ChunkSigning } from "./chunked-decoder.ts";
import { encodeChunked } from "./encode-chunked.ts";
import { isSigV4Error } from "./errors.ts";
import { deriveSigningKey } from "./signing.ts";

const ex = JSON.parse(
  readFileSync(new URL("../../testdata/sigv4/s3-examples.json", import.meta.url), "utf8"),
) as {
  secretAccessKey: string;
  streaming: { seedSignature: string; chunkSignatures: string[]; headers: Record<string, string> };
  streamingTrailer: {
    seedSignature: string;
    chunkSignatures: string[];
    trailer: string;
    trailerSignature: string;
  };
};
const scope = { date: "20130524", region: "us-east-1", service: "s3" };
const key = deriveSigningKey(ex.secretAccessKey, scope);
const payload = Buffer.alloc(66560, "a");
const signing = (seed: string): ChunkSigning => ({
  signingKey: key,
  amzDate: "20130524T000000Z",
  scope,
  seedSignature: seed,
});

/** The S3 docs body, written out by hand (not by encodeChunked). */
function docsBody(sigs: string[], tail: string): Buffer {
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${sigs[0]!}\r\n`),
    payload.subarray(0, 65536),
    Buffer.from("\r\n"),
    Buffer.from(`400;chunk-signature=${sigs[1]!}\r\n`),
    payload.subarray(65536),
    Buffer.from("\r\n"),
    Buffer.from(`0;chunk-signature=${sigs[2]!}\r\n${tail}\r\n`),
  ]);
}

function decode(d: AwsChunkedDecoder, body: Uint8Array, split: number) {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += split)
    for (const s of d.push(body.subarray(i, i + split))) out.push(Buffer.from(s));
  return { data: Buffer.concat(out), result: d.end() };
}

function rejects(fn: () => unknown, code: string): void {
  assert.throws(
    fn,
    (e: unknown) => isSigV4Error(e) && e.s3Code === code && !e.message.includes("\n"),
  );
}

test("AwsChunkedDecoder verifies the S3 docs STREAMING-AWS4-HMAC-SHA256-PAYLOAD example across any split", () => {
  const body = docsBody(ex.streaming.chunkSignatures, "");
  assert.equal(body.length, Number(ex.streaming.headers["content-length"]));
  assert.deepEqual(
    encodeChunked(payload, { signing: signing(ex.streaming.seedSignature) }).body,
    body,
  );
  for (const split of [1, 2, 7, 86, 4096, 65537, body.length]) {
    const d = new AwsChunkedDecoder({
      mode: "streaming-signed",
      signing: signing(ex.streaming.seedSignature),
      decodedContentLength: 66560,
    });
    const { data, result } = decode(d, body, split);
    assert.ok(data.equals(payload), `split ${split}`);
    assert.equal(result.decodedLength, 66560);
  }
});

test("AwsChunkedDecoder verifies the S3 docs signed-trailer example (crc32c trailer and trailer signature)", () => {
  const t = ex.streamingTrailer;
  const body = docsBody(
    t.chunkSignatures,
    `${t.trailer}\r\nx-amz-trailer-signature:${t.trailerSignature}\r\n`,
  );
  assert.deepEqual(
    encodeChunked(payload, { signing: signing(t.seedSignature), trailer: { algorithm: "CRC32C" } })
      .body,
    body,
  );
  for (const split of [1, 13, 65536, body.length]) {
    const d = new AwsChunkedDecoder({
      mode: "streaming-signed-trailer",
      signing: signing(t.seedSignature),
      declaredTrailers: ["x-amz-checksum-crc32c"],
      decodedContentLength: 66560,
    });
    const { data, result } = decode(d, body, split);
    assert.ok(data.equals(payload));
    assert.equal(result.checksums.get("x-amz-checksum-crc32c"), "sOO8/Q==");
  }
});

test("AwsChunkedDecoder refuses a tampered chunk, a reordered chunk and a wrong seed", () => {
  const seed = ex.streaming.seedSignature;
  const body = docsBody(ex.streaming.chunkSignatures, "");
  const tampered = Buffer.from(body);
  tampered[66000] = 0x62;
  rejects(
    () =>
      decode(
        new AwsChunkedDecoder({ mode: "streaming-signed", signing: signing(seed) }),
        tampered,
        1000,
      ),
    "SignatureDoesNotMatch",
  );
  rejects(
    () =>
      decode(
        new AwsChunkedDecoder({ mode: "streaming-signed", signing: signing("0".repeat(64)) }),
        body,
        1000,
      ),
    "SignatureDoesNotMatch",
  );
  const swapped = docsBody(
    [
      ex.streaming.chunkSignatures[1]!,
      ex.streaming.chunkSignatures[0]!,
      ex.streaming.chunkSignatures[2]!,
    ],
    "",
  );
  rejects(
    () =>
      decode(
        new AwsChunkedDecoder({ mode: "streaming-signed", signing: signing(seed) }),
        swapped,
        1000,
      ),
    "SignatureDoesNotMatch",
  );
  const d = new AwsChunkedDecoder({ mode: "streaming-signed", signing: signing(seed) });
  rejects(() => d.push(tampered), "SignatureDoesNotMatch");
  assert.throws(
    () => d.push(new Uint8Array(1)),
    (e: unknown) => isSigV4Error(e),
  );
});

test("AwsChunkedDecoder treats a truncated body as IncompleteBody, never as a short object", () => {
  const body = docsBody(ex.streaming.chunkSignatures, "");
  for (const cut of [0, 10, 65536, 65620, body.length - 2, body.length - 1]) {
    const d = new AwsChunkedDecoder({
      mode: "streaming-signed",
      signing: signing(ex.streaming.seedSignature),
      decodedContentLength: 66560,
    });
    d.push(body.subarray(0, cut));
    rejects(() => d.end(), "IncompleteBody");
  }
});

test("AwsChunkedDecoder checks x-amz-decoded-content-length", () => {
  const e = encodeChunked(payload.subarray(0, 5000), { trailer: { algorithm: "CRC32" } });
  const opts = {
    mode: "streaming-unsigned-trailer" as const,
    declaredTrailers: ["x-amz-checksum-crc32"],
  };
  rejects(
    () => decode(new AwsChunkedDecoder({ ...opts, decodedContentLength: 5001 }), e.body, 999),
    "IncompleteBody",
  );
  rejects(
    () => decode(new AwsChunkedDecoder({ ...opts, decodedContentLength: 4999 }), e.body, 999),
    "InvalidRequest",
  );
  assert.equal(
    decode(new AwsChunkedDecoder({ ...opts, decodedContentLength: 5000 }), e.body, 999).result
      .decodedLength,
    5000,
  );
});

test("AwsChunkedDecoder verifies unsigned-trailer checksums for every algorithm and refuses wrong ones", () => {
  const data = payload.subarray(0, 20000);
  for (const algorithm of ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const) {
    const name = `x-amz-checksum-${algorithm.toLowerCase()}`;
    const good = encodeChunked(data, { chunkSize: 8192, trailer: { algorithm } });
    const d = new AwsChunkedDecoder({
      mode: "streaming-unsigned-trailer",
      declaredTrailers: [name],
      decodedContentLength: data.length,
    });
    const r = decode(d, good.body, 333);
    assert.ok(r.data.equals(data));
    assert.ok(r.result.checksums.has(name));
    const bad = encodeChunked(data, {
      chunkSize: 8192,
      trailer: {
        algorithm,
        value: encodeChunked(Buffer.from("x"), { trailer: { algorithm } })
          .body.toString()
          .split(":")[1]!
          .split("\r")[0]!,
      },
    });
    rejects(
      () =>
        decode(
          new AwsChunkedDecoder({ mode: "streaming-unsigned-trailer", declaredTrailers: [name] }),
          bad.body,
          333,
        ),
      "BadDigest",
    );
  }
});

test("AwsChunkedDecoder refuses a wrong trailer signature, undeclared or missing trailers", () => {
  const t = ex.streamingTrailer;
  const opts = {
    mode: "streaming-signed-trailer" as const,
    signing: signing(t.seedSignature),
    declaredTrailers: ["x-amz-checksum-crc32c"],
  };
  const wrongSig = docsBody(
    t.chunkSignatures,
    `${t.trailer}\r\nx-amz-trailer-signature:${"1".repeat(64)}\r\n`,
  );
  rejects(() => decode(new AwsChunkedDecoder(opts), wrongSig, 5000), "SignatureDoesNotMatch");
  const changedTrailer = docsBody(
    t.chunkSignatures,
    `x-amz-checksum-crc32c:AAAAAA==\r\nx-amz-trailer-signature:${t.trailerSignature}\r\n`,
  );
  rejects(() => decode(new AwsChunkedDecoder(opts), changedTrailer, 5000), "SignatureDoesNotMatch");
  const noSig = docsBody(t.chunkSignatures, `${t.trailer}\r\n`);
  rejects(() => decode(new AwsChunkedDecoder(opts), noSig, 5000), "MalformedTrailerError");
  const undeclared = encodeChunked(payload, { trailer: { algorithm: "CRC32" } });
  rejects(
    () =>
      decode(
        new AwsChunkedDecoder({
          mode: "streaming-unsigned-trailer",
          declaredTrailers: ["x-amz-checksum-crc32c"],
        }),
        undeclared.body,
        5000,
      ),
    "MalformedTrailerError",
  );
  const missing = encodeChunked(payload, { chunkSize: 1 << 20, trailer: { algorithm: "CRC32" } })
    .body.toString("latin1")
    .replace(/x-amz-checksum-crc32:[^\r]*\r\n/, "");
  rejects(
    () =>
      decode(
        new AwsChunkedDecoder({
          mode: "streaming-unsigned-trailer",
          declaredTrailers: ["x-amz-checksum-crc32"],
        }),
        Buffer.from(missing, "latin1"),
        5000,
      ),
    "MalformedTrailerError",
  );
});

test("AwsChunkedDecoder refuses malformed framing with typed errors", () => {
  const u = { mode: "streaming-unsigned-trailer" as const };
  rejects(() => new AwsChunkedDecoder(u).push(Buffer.from("zz\r\n")), "InvalidChunkSizeError");
  rejects(() => new AwsChunkedDecoder(u).push(Buffer.from("5\nhello")), "InvalidChunkSizeError");
  rejects(
    () => new AwsChunkedDecoder(u).push(Buffer.from("5\r\nhelloXX")),
    "InvalidChunkSizeError",
  );
  rejects(
    () => new AwsChunkedDecoder(u).push(Buffer.from("1".repeat(5000))),
    "InvalidChunkSizeError",
  );
  rejects(
    () => new AwsChunkedDecoder({ ...u, maxChunkSize: 1024 }).push(Buffer.from("401\r\n")),
    "InvalidChunkSizeError",
  );
  rejects(() => new AwsChunkedDecoder(u).push(Buffer.from("0\r\n\r\nextra")), "InvalidRequest");
  rejects(
    () =>
      new AwsChunkedDecoder({
        mode: "streaming-signed",
        signing: signing(ex.streaming.seedSignature),
      }).push(Buffer.from("5\r\n")),
    "InvalidChunkSizeError",
  );
  const d = new AwsChunkedDecoder(u);
  assert.deepEqual(d.push(Buffer.from("0\r\n\r\n")), []);
  assert.equal(d.end().decodedLength, 0);
});
