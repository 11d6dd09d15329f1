import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { CofferError, fromSystemError } from "../core/errors.ts";

/** File name of the server master key inside the data directory. */
export const MASTER_KEY_FILE = "master.key";

/**
 * The server master key: 32 random bytes at `<dataDir>/master.key` (mode 0600), created on
 * first use. It encrypts source secrets in the metadata database; it never decrypts backups.
 */
export class MasterKey {
  private constructor(private readonly key: Buffer) {}

  /** Loads `<dataDir>/master.key`, creating it (exclusively, mode 0600) when absent. */
  static loadOrCreate(dataDir: string): MasterKey {
    const path = join(dataDir, MASTER_KEY_FILE);
    try {
      const fd = openSync(path, "wx", 0o600);
      try {
        writeSync(fd, randomBytes(32).toString("hex") + "\n");
      } finally {
        closeSync(fd);
      }
      chmodSync(path, 0o600);
    } catch (err) {
      if ((err as { code?: string }).code !== "EEXIST")
        throw fromSystemError(err, `Cannot create ${path}`);
    }
    let text: string;
    try {
      text = readFileSync(path, "utf8").trim();
    } catch (err) {
      throw fromSystemError(err, `Cannot read ${path}`);
    }
    if (!/^[0-9a-f]{64}$/.test(text)) {
      throw new CofferError("CONFIG", `Cannot use ${path}: not a 64-hex-digit key`);
    }
    return new MasterKey(Buffer.from(text, "hex"));
  }

  /** For tests: a key from given bytes. */
  static fromBytes(bytes: Uint8Array): MasterKey {
    if (bytes.length !== 32) throw new CofferError("BAD_INPUT", "Master key must be 32 bytes");
    return new MasterKey(Buffer.from(bytes));
  }

  /** AES-256-GCM seal: `v1:` + base64(nonce(12) ‖ ciphertext ‖ tag(16)); `aad` binds context. */
  seal(plaintext: string, aad: string): string {
    const nonce = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.key, nonce);
    c.setAAD(Buffer.from(aad, "utf8"));
    const body = Buffer.concat([c.update(plaintext, "utf8"), c.final()]);
    return "v1:" + Buffer.concat([nonce, body, c.getAuthTag()]).toString("base64");
  }

  /** Opens {@link seal}'s output; a wrong key, aad or edited value → `CORRUPT`. */
  open(sealed: string, aad: string): string {
    const raw = sealed.startsWith("v1:") ? Buffer.from(sealed.slice(3), "base64") : Buffer.alloc(0);
    if (raw.length < 28)
      throw new CofferError("CORRUPT", `Cannot decrypt secret for ${aad}: malformed`);
    try {
      const d = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
      d.setAAD(Buffer.from(aad, "utf8"));
      d.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString(
        "utf8",
      );
    } catch (err) {
      throw new CofferError(
        "CORRUPT",
        `Cannot decrypt secret for ${aad}: wrong master key or edited value`,
        {
          cause: err,
        },
      );
    }
  }
}
