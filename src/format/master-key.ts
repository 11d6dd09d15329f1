import type { Random } from "../core/deps.ts";
import { CofferError } from "../core/errors.ts";

/** The repository master key (format v1): three independent random 32-byte keys. */
export interface MasterKey {
  /** Input key for HKDF in every sealed object. */
  readonly encKey: Buffer;
  /** HMAC-SHA256 key for blob IDs and the config MAC. */
  readonly macKey: Buffer;
  /** Seed of the chunker's gear table. */
  readonly chunkerSeed: Buffer;
}

/** Length of the serialised master key: encKey ‖ macKey ‖ chunkerSeed. */
export const MASTER_KEY_LENGTH = 96;

/** Draws a fresh master key from `random`. */
export function generateMasterKey(random: Random): MasterKey {
  return masterKeyFromBytes(random(MASTER_KEY_LENGTH));
}

/** Serialises a master key as encKey ‖ macKey ‖ chunkerSeed (96 bytes). */
export function masterKeyToBytes(master: MasterKey): Buffer {
  return Buffer.concat([master.encKey, master.macKey, master.chunkerSeed]);
}

/** Parses 96 bytes made by {@link masterKeyToBytes}. The result owns copies of the bytes. */
export function masterKeyFromBytes(bytes: Uint8Array): MasterKey {
  if (bytes.length !== MASTER_KEY_LENGTH) {
    throw new CofferError(
      "CORRUPT",
      `Cannot read master key: expected 96 bytes, got ${bytes.length}`,
    );
  }
  const b = Buffer.from(bytes);
  return {
    encKey: Buffer.from(b.subarray(0, 32)),
    macKey: Buffer.from(b.subarray(32, 64)),
    chunkerSeed: Buffer.from(b.subarray(64, 96)),
  };
}
