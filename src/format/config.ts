import { createHmac, timingSafeEqual } from "node:crypto";
import type { Random } from "../core/deps.ts";
import { CofferError } from "../core/errors.ts";
import { type ChunkerParams, checkChunkerParams, DEFAULT_CHUNKER } from "./chunker.ts";
import type { MasterKey } from "./master-key.ts";
import { DEFAULT_PACK_SIZE } from "./pack.ts";
import { Fields, parseJsonObject } from "./validate.ts";

/** Repository format version written and read by this code. */
export const FORMAT_VERSION = 1;

/** The plaintext `config` object (format v1). */
export interface RepoConfig {
  version: 1;
  /** Repository ID: 32 random bytes, hex. */
  id: string;
  chunker: ChunkerParams;
  /** Target pack size in bytes. */
  packSize: number;
  compression: "zstd";
  /** HMAC-SHA256(macKey, canonical JSON without mac), hex. */
  mac: string;
}

/** Canonical JSON of the config without `mac`: fixed key order, no whitespace. */
export function canonicalConfig(c: Omit<RepoConfig, "mac">): string {
  return JSON.stringify({
    version: c.version,
    id: c.id,
    chunker: { min: c.chunker.min, avg: c.chunker.avg, max: c.chunker.max },
    packSize: c.packSize,
    compression: c.compression,
  });
}

function mac(master: MasterKey, c: Omit<RepoConfig, "mac">): string {
  return createHmac("sha256", master.macKey).update(canonicalConfig(c)).digest("hex");
}

/** A new config with a random ID, authenticated with the master key's MAC key. */
export function createConfig(
  master: MasterKey,
  random: Random,
  o: { chunker?: ChunkerParams; packSize?: number } = {},
): RepoConfig {
  const chunker = o.chunker ?? DEFAULT_CHUNKER;
  checkChunkerParams(chunker);
  const packSize = o.packSize ?? DEFAULT_PACK_SIZE;
  if (!Number.isSafeInteger(packSize) || packSize < 1024 || packSize > 2 ** 31) {
    throw new CofferError("BAD_INPUT", `Invalid pack size ${packSize}`);
  }
  const base = {
    version: 1 as const,
    id: Buffer.from(random(32)).toString("hex"),
    chunker: { min: chunker.min, avg: chunker.avg, max: chunker.max },
    packSize,
    compression: "zstd" as const,
  };
  return { ...base, mac: mac(master, base) };
}

/** Serialises a config: the canonical JSON with `mac` appended. */
export function encodeConfig(c: RepoConfig): Uint8Array {
  return Buffer.from(`${canonicalConfig(c).slice(0, -1)},"mac":${JSON.stringify(c.mac)}}`, "utf8");
}

/**
 * Parses a config object (no key needed).
 * @throws CofferError UNSUPPORTED_VERSION for any version but 1; CORRUPT when malformed.
 */
export function parseConfig(bytes: Uint8Array): RepoConfig {
  const what = "config";
  if (bytes.length > 64 * 1024) throw new CofferError("CORRUPT", "Cannot read config: too large");
  const f = new Fields(parseJsonObject(bytes, what), what);
  const version = f.obj["version"];
  if (version !== 1) {
    throw new CofferError(
      "UNSUPPORTED_VERSION",
      `Cannot read config: repository format version ${JSON.stringify(version)} is not supported (this coffer reads version 1)`,
    );
  }
  const ch = f.object("chunker");
  const chunker = { min: ch.uint("min"), avg: ch.uint("avg"), max: ch.uint("max") };
  try {
    checkChunkerParams(chunker);
  } catch (err) {
    throw new CofferError("CORRUPT", "Cannot read config: invalid chunker parameters", {
      cause: err,
    });
  }
  if (f.string("compression") !== "zstd") f.fail("compression", 'must be "zstd"');
  return {
    version: 1,
    id: f.id("id"),
    chunker,
    packSize: f.uint("packSize", 2 ** 31),
    compression: "zstd",
    mac: f.id("mac"),
  };
}

/**
 * Checks the config's MAC against `master`.
 * @throws CofferError CORRUPT `Cannot verify config: MAC mismatch (tampered, or not this repository's key)`.
 */
export function verifyConfig(master: MasterKey, c: RepoConfig): void {
  const want = Buffer.from(mac(master, c), "hex");
  const got = Buffer.from(c.mac, "hex");
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    throw new CofferError(
      "CORRUPT",
      "Cannot verify config: MAC mismatch (tampered, or not this repository's key)",
    );
  }
}

/**
 * Parses and authenticates a config: {@link parseConfig} then {@link verifyConfig}.
 * @throws CofferError UNSUPPORTED_VERSION / CORRUPT.
 */
export function decodeConfig(bytes: Uint8Array, master: MasterKey): RepoConfig {
  const c = parseConfig(bytes);
  verifyConfig(master, c);
  return c;
}
