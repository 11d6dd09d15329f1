import { createHash, createHmac } from "node:crypto";

/** Blob ID (format v1): HMAC-SHA256(macKey, plaintext), 32 bytes. Never a plain hash. */
export function blobId(macKey: Uint8Array, data: Uint8Array): Buffer {
  return createHmac("sha256", macKey).update(data).digest();
}

/**
 * Object ID (format v1): lower-case hex SHA-256 of the stored bytes, so anyone (the gateway)
 * can verify an object's name without keys.
 */
export function objectId(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** First 8 hex characters of an ID, for messages (`Cannot open pack 3fa1c2d4: ...`). */
export function shortId(id: string | Uint8Array): string {
  return (
    typeof id === "string"
      ? id
      : Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex")
  ).slice(0, 8);
}
