/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Bytes of a hex string; throws on odd length or non-hex characters. */
export function fromHex(hex: string): Buffer {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) {
    throw new TypeError(`Cannot decode hex: invalid string of length ${String(hex.length)}`);
  }
  return Buffer.from(hex, "hex");
}

/** True for a 64-character lower-case hex ID. */
export function isId(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}
