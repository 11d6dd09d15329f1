import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";
import type { Random } from "../core/deps.ts";
import { CofferError } from "../core/errors.ts";

/** What a sealed message is for; bound into the key derivation and the GCM AAD. */
export type SealPurpose =
  | "blob/data"
  | "blob/tree"
  | "pack-header"
  | "index"
  | "snapshot"
  | "keyfile"
  | "status";

/** Length of the random salt at the start of every sealed message. */
export const SEAL_SALT_LENGTH = 16;
/** Length of the GCM tag at the end of every sealed message. */
export const SEAL_TAG_LENGTH = 16;
/** Bytes a sealed message adds to its plaintext (salt + tag). */
export const SEAL_OVERHEAD = SEAL_SALT_LENGTH + SEAL_TAG_LENGTH;

const ZERO_NONCE = Buffer.alloc(12);

/** HKDF `info ‖ 0x01` per purpose: the input of the single Expand block. */
const EXPAND_INPUT = new Map<string, Buffer>();

/**
 * `HKDF-SHA256(ikm = key, salt, info = "coffer/v1/" + purpose, L = 32)` (RFC 5869), written
 * out as its two HMACs: Extract `prk = HMAC(salt, ikm)`, then one Expand block
 * `T(1) = HMAC(prk, info ‖ 0x01)`, which is the whole 32-byte output. Byte-identical to
 * `hkdfSync` (tested) and about 2.5× faster per call, which matters once per blob.
 */
function messageKey(key: Uint8Array, salt: Uint8Array, purpose: SealPurpose): Buffer {
  if (key.length !== 32) throw new CofferError("BAD_INPUT", "Cannot seal: key must be 32 bytes");
  let input = EXPAND_INPUT.get(purpose);
  if (input === undefined) {
    input = Buffer.concat([Buffer.from(`coffer/v1/${purpose}`, "utf8"), Buffer.of(1)]);
    EXPAND_INPUT.set(purpose, input);
  }
  const prk = createHmac("sha256", salt).update(key).digest();
  return createHmac("sha256", prk).update(input).digest();
}

/**
 * Encrypts and authenticates `plaintext` (format v1 sealing):
 * `salt(16) ‖ AES-256-GCM(k, nonce = 12 zero bytes, aad = purpose)(plaintext) ‖ tag(16)` with
 * `k = HKDF-SHA256(ikm = key, salt, info = "coffer/v1/" + purpose)`. A fresh key per message
 * makes nonce reuse impossible.
 */
export function seal(
  key: Uint8Array,
  purpose: SealPurpose,
  plaintext: Uint8Array,
  random: Random,
): Buffer {
  const salt = random(SEAL_SALT_LENGTH);
  if (salt.length !== SEAL_SALT_LENGTH) {
    throw new CofferError("BAD_INPUT", "Cannot seal: random source returned a short salt");
  }
  const cipher = createCipheriv("aes-256-gcm", messageKey(key, salt, purpose), ZERO_NONCE);
  cipher.setAAD(Buffer.from(purpose, "utf8"));
  const out = Buffer.allocUnsafe(plaintext.length + SEAL_OVERHEAD);
  out.set(salt, 0);
  let n = SEAL_SALT_LENGTH;
  const body = cipher.update(plaintext);
  out.set(body, n);
  n += body.length;
  const fin = cipher.final();
  out.set(fin, n);
  n += fin.length;
  out.set(cipher.getAuthTag(), n);
  return out;
}

/**
 * Decrypts a message made by {@link seal} with the same key and purpose.
 * @throws CofferError CORRUPT `Cannot open <purpose>: authentication failed` when the message
 *   was altered, truncated, or sealed under another key or purpose.
 */
export function unseal(key: Uint8Array, purpose: SealPurpose, sealed: Uint8Array): Buffer {
  if (sealed.length < SEAL_OVERHEAD) {
    throw new CofferError("CORRUPT", `Cannot open ${purpose}: truncated (${sealed.length} bytes)`);
  }
  const salt = sealed.subarray(0, SEAL_SALT_LENGTH);
  const end = sealed.length - SEAL_TAG_LENGTH;
  const decipher = createDecipheriv("aes-256-gcm", messageKey(key, salt, purpose), ZERO_NONCE);
  decipher.setAAD(Buffer.from(purpose, "utf8"));
  decipher.setAuthTag(sealed.subarray(end));
  try {
    const body = decipher.update(sealed.subarray(SEAL_SALT_LENGTH, end));
    const fin = decipher.final(); // GCM: empty
    return fin.length === 0 ? body : Buffer.concat([body, fin]);
  } catch (err) {
    throw new CofferError("CORRUPT", `Cannot open ${purpose}: authentication failed`, {
      cause: err,
    });
  }
}
