/** A snapshot path as raw bytes (names may be any bytes). */
export function displayPath(p: string | Uint8Array): Buffer {
  return typeof p === "string" ? Buffer.from(p) : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

/** A path for JSON output: `path` when valid UTF-8, else `path_b64`. */
export function jsonPath(p: string | Uint8Array): { path: string } | { path_b64: string } {
  if (typeof p === "string") return { path: p };
  const b = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  const s = b.toString("utf8");
  return Buffer.from(s, "utf8").equals(b) ? { path: s } : { path_b64: b.toString("base64") };
}
