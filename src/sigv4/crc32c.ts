import { ReflectedCrc32, crc32Tables } from "./crc32-table.ts";

const TABLES = crc32Tables(0x82f63b78);

/** Incremental CRC-32C (Castagnoli, S3 `x-amz-checksum-crc32c`). */
export class Crc32c extends ReflectedCrc32 {
  constructor() {
    super(TABLES);
  }
}

/** CRC-32C of `data` as an unsigned number. */
export function crc32c(data: Uint8Array): number {
  return new Crc32c().update(data).value();
}
