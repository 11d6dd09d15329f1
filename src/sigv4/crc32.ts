import { ReflectedCrc32, crc32Tables } from "./crc32-table.ts";

const TABLES = crc32Tables(0xedb88320);

/** Incremental CRC-32 (ISO-HDLC, as zlib and S3 `x-amz-checksum-crc32`). */
export class Crc32 extends ReflectedCrc32 {
  constructor() {
    super(TABLES);
  }
}

/** CRC-32 of `data` as an unsigned number. */
export function crc32(data: Uint8Array): number {
  return new Crc32().update(data).value();
}
