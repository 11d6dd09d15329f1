const HEX = "0123456789ABCDEF";

function isUnreserved(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x61 && b <= 0x7a) || // a-z
    (b >= 0x30 && b <= 0x39) || // 0-9
    b === 0x2d || // -
    b === 0x2e || // .
    b === 0x5f || // _
    b === 0x7e // ~
  );
}

/**
 * AWS `UriEncode()`: every byte except the unreserved set `A-Za-z0-9-._~` becomes `%XX`
 * (upper-case hex). `/` is kept when `keepSlash` is true (object key paths).
 * Strings are encoded as UTF-8 first.
 */
export function uriEncode(input: string | Uint8Array, keepSlash = false): string {
  const bytes = typeof input === "string" ? Buffer.from(input, "utf8") : input;
  let out = "";
  for (const b of bytes) {
    if (isUnreserved(b) || (keepSlash && b === 0x2f)) out += String.fromCharCode(b);
    else out += "%" + HEX[b >> 4]! + HEX[b & 15]!;
  }
  return out;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Decodes `%XX` escapes of a raw URL component into bytes (not necessarily valid UTF-8).
 * A `%` not followed by two hex digits is kept literally. With `plusIsSpace`, `+` decodes
 * to a space (form encoding, used for query strings).
 */
export function percentDecode(raw: string, plusIsSpace = false): Buffer {
  const src = Buffer.from(raw, "utf8");
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i]!;
    if (b === 0x25 && i + 2 < src.length) {
      const h = hexVal(src[i + 1]!);
      const l = hexVal(src[i + 2]!);
      if (h >= 0 && l >= 0) {
        out[n++] = (h << 4) | l;
        i += 2;
        continue;
      }
    }
    out[n++] = plusIsSpace && b === 0x2b ? 0x20 : b;
  }
  return out.subarray(0, n);
}
