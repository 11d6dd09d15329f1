import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Crc32 as SdkCrc32,
  Crc32c as SdkCrc32c,
  Crc64Nvme as SdkCrc64Nvme,
} from "@aws-sdk/checksums/crc";
import {
  checksumBase64,
  createChecksum,
  algorithmOfHeader,
  parseChecksumAlgorithm,
} from "./checksum.ts";
import { crc32, Crc32 } from "./crc32.ts";
import { crc32c } from "./crc32c.ts";
import { crc64nvme, Crc64Nvme } from "./crc64nvme.ts";

const check = Buffer.from("123456789");

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

async function sdk(
  h: { update(d: Uint8Array): void; digest(): Promise<Uint8Array> },
  d: Uint8Array,
): Promise<string> {
  h.update(d);
  return Buffer.from(await h.digest()).toString("base64");
}

test("crc32() / crc32c() / crc64nvme() give the catalogue check values for '123456789'", () => {
  assert.equal(crc32(check).toString(16), "cbf43926");
  assert.equal(crc32c(check).toString(16), "e3069283");
  assert.equal(crc64nvme(check).toString(16), "ae8b14860a799888");
  assert.equal(crc32(new Uint8Array(0)), 0);
  assert.equal(crc64nvme(new Uint8Array(0)), 0n);
});

test("checksumBase64() matches the AWS SDK's CRC32/CRC32C/CRC64NVME for many lengths", async () => {
  for (const n of [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 1000, 65536 + 3]) {
    const d = bytes(n, n + 1);
    assert.equal(checksumBase64("CRC32", d), await sdk(new SdkCrc32(), d), `crc32 n=${n}`);
    assert.equal(checksumBase64("CRC32C", d), await sdk(new SdkCrc32c(), d), `crc32c n=${n}`);
    assert.equal(
      checksumBase64("CRC64NVME", d),
      await sdk(new SdkCrc64Nvme(), d),
      `crc64nvme n=${n}`,
    );
  }
});

test("incremental updates across arbitrary splits equal one-shot checksums", () => {
  const d = bytes(10007, 42);
  for (const split of [1, 3, 8, 13, 4096]) {
    const a = new Crc32();
    const b = new Crc64Nvme();
    for (let i = 0; i < d.length; i += split) {
      a.update(d.subarray(i, i + split));
      b.update(d.subarray(i, i + split));
    }
    assert.equal(a.value(), crc32(d));
    assert.equal(b.value(), crc64nvme(d));
  }
});

test("sha1/sha256 checksums are base64 digests and header names map to algorithms", () => {
  assert.equal(
    checksumBase64("SHA256", Buffer.from("")),
    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
  );
  assert.equal(checksumBase64("SHA1", Buffer.from("abc")), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
  const c = createChecksum("CRC32");
  c.update(Buffer.from("Hello world"));
  assert.equal(c.digest().toString("base64"), "i9aeUg==");
  assert.equal(algorithmOfHeader("X-Amz-Checksum-CRC64NVME"), "CRC64NVME");
  assert.equal(algorithmOfHeader("x-amz-checksum-md5"), undefined);
  assert.equal(parseChecksumAlgorithm("crc32c"), "CRC32C");
});
