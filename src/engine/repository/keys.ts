import { CofferError, isCofferError } from "../../core/errors.ts";
import { shortId } from "../../format/ids.ts";
import {
  type KdfParams,
  type KeyFileInfo,
  createKeyFile,
  exportMasterKey as exportMasterKeyFile,
  exportMasterKeyPaper,
  readKeyFileInfo,
} from "../../format/keys.ts";
import { collect } from "../../core/parallel.ts";
import type { Repository } from "./repository.ts";

/** A key file as listed by {@link listKeys}. */
export interface KeyListing extends KeyFileInfo {
  /** True for the key file that opened this repository. */
  current: boolean;
}

/** Every key file with its metadata (readable without the password). */
export async function listKeys(repo: Repository): Promise<KeyListing[]> {
  const objs = await collect(repo.storage.list("keys/"));
  const out: KeyListing[] = [];
  for (const o of objs) {
    const id = o.key.slice("keys/".length);
    const info = readKeyFileInfo(await repo.storage.get(o.key));
    out.push({ ...info, id, current: id === repo.keyId });
  }
  return out.sort((a, b) =>
    a.created < b.created ? -1 : a.created > b.created ? 1 : a.id < b.id ? -1 : 1,
  );
}

/** Adds a key file wrapping the master key under `password`; returns its ID. */
export async function addKey(
  repo: Repository,
  password: string,
  o: { hostname: string; username: string; kdf?: KdfParams },
): Promise<string> {
  if (password.length === 0) throw new CofferError("BAD_INPUT", "Cannot add key: empty password");
  const key = createKeyFile(repo.master, password, {
    random: repo.random,
    now: repo.clock.now(),
    hostname: o.hostname,
    username: o.username,
    ...(o.kdf !== undefined ? { kdf: o.kdf } : {}),
  });
  await repo.storage.putIfAbsent(`keys/${key.id}`, key.bytes);
  return key.id;
}

/**
 * Removes a key file (ID or unique prefix).
 * @throws CofferError KEY_IN_USE for the key that opened the repository or the last key;
 *   NOT_FOUND / AMBIGUOUS_ID for a bad reference.
 */
export async function removeKey(repo: Repository, ref: string): Promise<string> {
  const keys = await listKeys(repo);
  const matches = keys.filter((k) => k.id.startsWith(ref));
  if (ref.length === 0 || matches.length === 0)
    throw new CofferError("NOT_FOUND", `Cannot remove key ${ref}: no such key`);
  if (matches.length > 1)
    throw new CofferError(
      "AMBIGUOUS_ID",
      `Cannot remove key ${ref}: prefix matches ${matches.length} keys`,
    );
  const k = matches[0]!;
  if (k.id === repo.keyId)
    throw new CofferError("KEY_IN_USE", `Cannot remove key ${shortId(k.id)}: it is the key in use`);
  if (keys.length <= 1)
    throw new CofferError("KEY_IN_USE", `Cannot remove key ${shortId(k.id)}: it is the last key`);
  await repo.storage.delete(`keys/${k.id}`);
  return k.id;
}

/**
 * Changes the password: adds a key file for `newPassword`, then removes the current one.
 * Returns the new key ID. A crash in between leaves both keys (each opens the repository).
 */
export async function changePassword(
  repo: Repository,
  newPassword: string,
  o: { hostname: string; username: string; kdf?: KdfParams },
): Promise<string> {
  const id = await addKey(repo, newPassword, o);
  try {
    await repo.storage.delete(`keys/${repo.keyId}`);
  } catch (err) {
    if (!isCofferError(err, "NOT_FOUND")) throw err;
  }
  return id;
}

/** The master key for escrow: `"file"` (JSON) or `"paper"` (printable text) form. */
export function exportMasterKey(repo: Repository, form: "file" | "paper" = "file"): string {
  return form === "paper"
    ? exportMasterKeyPaper(repo.master, repo.id)
    : exportMasterKeyFile(repo.master, repo.id);
}
