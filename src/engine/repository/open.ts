import type { Clock, Random } from "../../core/deps.ts";
import { CofferError, isCofferError } from "../../core/errors.ts";
import { systemClock, systemRandom } from "../../core/system.ts";
import type { ChunkerParams } from "../../format/chunker.ts";
import { type RepoConfig, createConfig, decodeConfig, encodeConfig } from "../../format/config.ts";
import {
  type KdfParams,
  type MasterKey,
  createKeyFile,
  generateMasterKey,
} from "../../format/keys.ts";
import type { Storage } from "../../storage/storage.ts";
import { unlockMasterKey } from "./unlock.ts";

/** Options for {@link Repository.init}. */
export interface InitOptions {
  random?: Random;
  clock?: Clock;
  /** Recorded in the first key file. */
  hostname: string;
  username: string;
  /** scrypt cost of the first key file (tests use a cheap one). */
  kdf?: KdfParams;
  /** Chunker parameters (default: the v1 defaults; tests use smaller ones). */
  chunker?: ChunkerParams;
  /** Target pack size in bytes (default 16 MiB; tests use smaller packs). */
  packSize?: number;
}

/** Options for {@link Repository.open}. */
export interface OpenOptions {
  random?: Random;
  clock?: Clock;
}

/** What a `Repository` is constructed from once its config and master key are known. */
export interface OpenedRepository {
  storage: Storage;
  config: RepoConfig;
  master: MasterKey;
  /** ID of the key file that opened the repository ("" when opened with a master key). */
  keyId: string;
  random: Random;
  clock: Clock;
}

/**
 * Creates a repository: a fresh master key, its first key file (under `password`), then the
 * config (written last, so a crash leaves no half-initialised repository that opens).
 * @throws CofferError REPO_EXISTS when `config` already exists.
 */
export async function initRepository(
  storage: Storage,
  password: string,
  o: InitOptions,
): Promise<OpenedRepository> {
  const random = o.random ?? systemRandom;
  const clock = o.clock ?? systemClock;
  if ((await storage.head("config")) !== undefined) {
    throw new CofferError(
      "REPO_EXISTS",
      `Cannot init repository at ${storage.location}: a repository already exists there`,
    );
  }
  if (password.length === 0)
    throw new CofferError("BAD_INPUT", "Cannot init repository: empty password");
  const master = generateMasterKey(random);
  const config = createConfig(master, random, {
    ...(o.chunker !== undefined ? { chunker: o.chunker } : {}),
    ...(o.packSize !== undefined ? { packSize: o.packSize } : {}),
  });
  const key = createKeyFile(master, password, {
    random,
    now: clock.now(),
    hostname: o.hostname,
    username: o.username,
    ...(o.kdf !== undefined ? { kdf: o.kdf } : {}),
  });
  await storage.putIfAbsent(`keys/${key.id}`, key.bytes);
  const res = await storage.putIfAbsent("config", encodeConfig(config));
  if (res === "exists") {
    throw new CofferError(
      "REPO_EXISTS",
      `Cannot init repository at ${storage.location}: a repository already exists there`,
    );
  }
  return { storage, config, master, keyId: key.id, random, clock };
}

/**
 * Opens a repository with `password`, trying every key file.
 * @throws CofferError REPO_NOT_FOUND (no config at the location), WRONG_PASSWORD (no key
 *   file opens), CORRUPT (a damaged key file, named, and no other opens; config MAC
 *   mismatch), UNSUPPORTED_VERSION.
 */
export async function openRepository(
  storage: Storage,
  password: string,
  o: OpenOptions = {},
): Promise<OpenedRepository> {
  const configBytes = await readConfig(storage);
  const { master, keyId } = await unlockMasterKey(storage, password);
  const config = decodeConfig(configBytes, master);
  return {
    storage,
    config,
    master,
    keyId,
    random: o.random ?? systemRandom,
    clock: o.clock ?? systemClock,
  };
}

/**
 * Opens the repository with a master key recovered from an escrow export (no password, no
 * key file). The config's MAC must verify under the key, and `repoId` (from the export) must
 * match the config, so a key for another repository is refused with one line.
 */
export async function openRepositoryWithMasterKey(
  storage: Storage,
  master: MasterKey,
  repoId: string,
  o: OpenOptions = {},
): Promise<OpenedRepository> {
  const configBytes = await readConfig(storage);
  let config: RepoConfig;
  try {
    config = decodeConfig(configBytes, master);
  } catch (err) {
    throw new CofferError(
      "WRONG_PASSWORD",
      `Cannot open repository at ${storage.location}: the exported master key does not belong to it`,
      { cause: err },
    );
  }
  if (config.id !== repoId) {
    throw new CofferError(
      "WRONG_PASSWORD",
      `Cannot open repository at ${storage.location}: the export is for repository ${repoId.slice(0, 10)}, this is ${config.id.slice(0, 10)}`,
    );
  }
  return {
    storage,
    config,
    master,
    keyId: "",
    random: o.random ?? systemRandom,
    clock: o.clock ?? systemClock,
  };
}

/** The sealed config object; REPO_NOT_FOUND when there is none. */
async function readConfig(storage: Storage): Promise<Uint8Array> {
  try {
    return await storage.get("config");
  } catch (err) {
    if (isCofferError(err, "NOT_FOUND")) {
      throw new CofferError(
        "REPO_NOT_FOUND",
        `Cannot open repository at ${storage.location}: no repository found there`,
        { cause: err },
      );
    }
    throw err;
  }
}
