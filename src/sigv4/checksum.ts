import { createHash, type Hash } from "node:crypto";
import { Crc32 } from "./crc32.ts";
import { Crc32c } from "./crc32c.ts";
import { Crc64Nvme } from "./crc64nvme.ts";

/** Flexible-checksum algorithms S3 supports (names as in `x-amz-sdk-checksum-algorithm`). */
export type ChecksumAlgorithm = "CRC32" | "CRC32C" | "CRC64NVME" | "SHA1" | "SHA256";

/** Every supported algorithm. */
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = [
  "CRC32",
  "CRC32C",
  "CRC64NVME",
  "SHA1",
  "SHA256",
];

/** An incremental checksum. */
export interface Checksum {
  readonly algorithm: ChecksumAlgorithm;
  update(data: Uint8Array): void;
  /** Raw digest bytes (CRCs big-endian). Call once. */
  digest(): Buffer;
}

class HashChecksum implements Checksum {
  private readonly h: Hash;
  constructor(
    readonly algorithm: ChecksumAlgorithm,
    name: string,
  ) {
    this.h = createHash(name);
  }
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  digest(): Buffer {
    return this.h.digest();
  }
}

class CrcChecksum implements Checksum {
  constructor(
    readonly algorithm: ChecksumAlgorithm,
    private readonly crc: Crc32 | Crc32c | Crc64Nvme,
  ) {}
  update(data: Uint8Array): void {
    this.crc.update(data);
  }
  digest(): Buffer {
    return this.crc.digest();
  }
}

/** A fresh incremental checksum for `algorithm`. */
export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case "CRC32":
      return new CrcChecksum(algorithm, new Crc32());
    case "CRC32C":
      return new CrcChecksum(algorithm, new Crc32c());
    case "CRC64NVME":
      return new CrcChecksum(algorithm, new Crc64Nvme());
    case "SHA1":
      return new HashChecksum(algorithm, "sha1");
    case "SHA256":
      return new HashChecksum(algorithm, "sha256");
  }
}

/** Base64 checksum of `data`, as sent in `x-amz-checksum-*` headers and trailers. */
export function checksumBase64(algorithm: ChecksumAlgorithm, data: Uint8Array): string {
  const c = createChecksum(algorithm);
  c.update(data);
  return c.digest().toString("base64");
}

/** `x-amz-checksum-crc32` etc. for an algorithm. */
export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** The algorithm of an `x-amz-checksum-*` header/trailer name (any case), or `undefined`. */
export function algorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  const n = name.toLowerCase();
  return CHECKSUM_ALGORITHMS.find((a) => checksumHeaderName(a) === n);
}

/** Parses an `x-amz-sdk-checksum-algorithm` value (any case), or `undefined`. */
export function parseChecksumAlgorithm(value: string): ChecksumAlgorithm | undefined {
  const v = value.trim().toUpperCase();
  return CHECKSUM_ALGORITHMS.find((a) => a === v);
}

/** Byte length of each algorithm's digest. */
export function digestLength(algorithm: ChecksumAlgorithm): number {
  return { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 }[algorithm];
}
