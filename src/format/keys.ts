import { scryptSync } from "node:crypto";
import type { Random } from "../core/deps.ts";
import { CofferError, isCofferError } from "../core/errors.ts";
import { objectId, shortId } from "./ids.ts";
import { type MasterKey, masterKeyFromBytes, masterKeyToBytes } from "./master-key.ts";
import { seal, unseal } from "./seal.ts";
import { Fields, parseJsonObject } from "./validate.ts";

export {
  type MasterKey,
  generateMasterKey,
  masterKeyFromBytes,
  masterKeyToBytes,
} from "./master-key.ts";
export { exportMasterKey, exportMasterKeyPaper, importMasterKey } from "./key-export.ts";

/** scrypt cost parameters. */
export interface KdfParams {
  N: number;
  r: number;
  p: number;
}

/**
 * Default scrypt cost for new key files: N = 2^15, r = 8, p = 1 (32 MiB, about 0.1 s on the
 * reference machine; restic's calibrated choice is of the same order). Existing key files keep
 * the parameters stored in them. See docs/format.md §3 for the trade-off.
 */
export const DEFAULT_KDF: KdfParams = { N: 2 ** 15, r: 8, p: 1 };

/** Upper bounds accepted when reading a key file, so a hostile file cannot exhaust memory. */
const MAX_N = 2 ** 22;
const MAX_R = 32;
const MAX_P = 16;

/** Options for {@link createKeyFile}. */
export interface CreateKeyFileOptions {
  random: Random;
  /** Creation time in ms since the epoch (from the injected Clock). */
  now: number;
  hostname: string;
  username: string;
  kdf?: KdfParams;
}

/** What a key file says about itself without the password. */
export interface KeyFileInfo {
  /** Object ID of the key file (its storage name under `keys/`). */
  id: string;
  /** RFC 3339 creation time. */
  created: string;
  hostname: string;
  username: string;
  kdf: KdfParams;
}

interface ParsedKeyFile {
  info: KeyFileInfo;
  salt: Buffer;
  data: Buffer;
}

function checkKdf(k: KdfParams, code: "CORRUPT" | "BAD_INPUT", what: string): void {
  const okN = Number.isSafeInteger(k.N) && k.N >= 2 && k.N <= MAX_N && (k.N & (k.N - 1)) === 0;
  const okR = Number.isSafeInteger(k.r) && k.r >= 1 && k.r <= MAX_R;
  const okP = Number.isSafeInteger(k.p) && k.p >= 1 && k.p <= MAX_P;
  if (!okN || !okR || !okP) {
    throw new CofferError(
      code,
      `Cannot use ${what}: scrypt parameters N=${k.N} r=${k.r} p=${k.p} out of range`,
    );
  }
}

function derive(password: string, salt: Uint8Array, k: KdfParams): Buffer {
  return scryptSync(Buffer.from(password.normalize("NFC"), "utf8"), salt, 32, {
    N: k.N,
    r: k.r,
    p: k.p,
    maxmem: 128 * k.N * k.r + 16 * 1024 * 1024,
  });
}

/**
 * Wraps `master` under a key derived from `password` with scrypt (format v1 key file, stored
 * under `keys/<id>`). Deriving the key takes about half a second with the default parameters.
 */
export function createKeyFile(
  master: MasterKey,
  password: string,
  o: CreateKeyFileOptions,
): { id: string; bytes: Uint8Array } {
  const kdf = o.kdf ?? DEFAULT_KDF;
  checkKdf(kdf, "BAD_INPUT", "key file");
  const salt = Buffer.from(o.random(32));
  const key = derive(password, salt, kdf);
  const data = seal(key, "keyfile", masterKeyToBytes(master), o.random);
  const doc = {
    v: 1,
    created: new Date(o.now).toISOString(),
    hostname: o.hostname,
    username: o.username,
    kdf: { alg: "scrypt", N: kdf.N, r: kdf.r, p: kdf.p, salt: salt.toString("base64") },
    data: data.toString("base64"),
  };
  const bytes = Buffer.from(JSON.stringify(doc), "utf8");
  return { id: objectId(bytes), bytes };
}

function parseKeyFile(bytes: Uint8Array, id = objectId(bytes)): ParsedKeyFile {
  const what = `key file ${shortId(id)}`;
  if (bytes.length > 64 * 1024) throw new CofferError("CORRUPT", `Cannot read ${what}: too large`);
  const f = new Fields(parseJsonObject(bytes, what), what);
  const v = f.uint("v");
  if (v !== 1)
    throw new CofferError("UNSUPPORTED_VERSION", `Cannot read ${what}: unsupported version ${v}`);
  const k = f.object("kdf");
  if (k.string("alg") !== "scrypt") k.fail("alg", "must be scrypt");
  const kdf = { N: k.uint("N"), r: k.uint("r"), p: k.uint("p") };
  checkKdf(kdf, "CORRUPT", what);
  const salt = Buffer.from(k.string("salt"), "base64");
  const data = Buffer.from(f.string("data"), "base64");
  const created = f.string("created", 64);
  return {
    info: { id, created, hostname: f.string("hostname"), username: f.string("username"), kdf },
    salt,
    data,
  };
}

/** Reads a key file's metadata (creation time, host, user, KDF) without the password. */
export function readKeyFileInfo(bytes: Uint8Array): KeyFileInfo {
  return parseKeyFile(bytes).info;
}

/**
 * Checks a key file against its storage name (the SHA-256 of its bytes), so a damaged file is
 * told apart from a wrong password: a flipped byte changes the hash, a wrong password does not.
 * @throws CofferError CORRUPT `Cannot open key file 3fa1c2d4: damaged (content does not match its name)`.
 */
export function verifyKeyFileName(bytes: Uint8Array, name: string): void {
  if (objectId(bytes) !== name) {
    throw new CofferError(
      "CORRUPT",
      `Cannot open key file ${shortId(name)}: damaged (content does not match its name)`,
    );
  }
}

/**
 * Unwraps the master key from a key file. With `name` (its storage name), the file is first
 * checked with {@link verifyKeyFileName}, so damage is never reported as a wrong password.
 * @throws CofferError WRONG_PASSWORD `Cannot open key file 3fa1c2d4: wrong password`;
 *   CORRUPT / UNSUPPORTED_VERSION when the file itself is damaged or from a newer version.
 */
export function openKeyFile(bytes: Uint8Array, password: string, name?: string): MasterKey {
  if (name !== undefined) verifyKeyFileName(bytes, name);
  const { info, salt, data } = parseKeyFile(bytes, name);
  const key = derive(password, salt, info.kdf);
  let plain: Buffer;
  try {
    plain = unseal(key, "keyfile", data);
  } catch (err) {
    if (isCofferError(err, "CORRUPT")) {
      throw new CofferError(
        "WRONG_PASSWORD",
        `Cannot open key file ${shortId(info.id)}: wrong password`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
  return masterKeyFromBytes(plain);
}
