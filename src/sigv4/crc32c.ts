import { crc32Tables, crc32Update } from "./crc32-table.ts";

const TABLES = crc32Tables(0x82f63b78);

/** Incremental CRC-32C (Castagnoli, S3 `x-amz-checksum-crc32c`). */
export class Crc32c {
  private c = 0xffffffff;
  /** Feeds bytes. */
  update(data: Uint8Array): this {
    this.c = crc32Update(TABLES, this.c, data);
    return this;
  }
  /** The CRC as an unsigned 32-bit number. */
  value(): number {
    return (this.c ^ 0xffffffff) >>> 0;
  }
  /** The CRC as 4 big-endian bytes (what S3 base64-encodes). */
  digest(): Buffer {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(this.value());
    return b;
  }
}

/** CRC-32C of `data` as an unsigned number. */
export function crc32c(data: Uint8Array): number {
  return new Crc32c().update(data).value();
}
