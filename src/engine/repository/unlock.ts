import { CofferError, isCofferError } from "../../core/errors.ts";
import { collect } from "../../core/parallel.ts";
import { type MasterKey, openKeyFile } from "../../format/keys.ts";
import type { Storage } from "../../storage/storage.ts";

/** The master key unwrapped by {@link unlockMasterKey}, and the key files found damaged. */
export interface UnlockedMasterKey {
  master: MasterKey;
  /** ID of the key file that opened. */
  keyId: string;
  /** Key files that could not be read, each with its one-line reason. */
  damaged: { id: string; message: string }[];
}

/**
 * Tries `password` on every key file under `keys/`. A key file whose bytes do not match its
 * name (SHA-256), or that does not parse, is damaged: it is skipped and, when no other key file
 * opens, named in the error instead of being reported as a wrong password.
 * @throws CofferError WRONG_PASSWORD when every key file is intact and none opens;
 *   CORRUPT `Cannot open repository at …: key file 3fa1c2d4 is damaged (…)` when no intact key
 *   file opens and at least one is damaged, or when there are no key files.
 */
export async function unlockMasterKey(
  storage: Storage,
  password: string,
): Promise<UnlockedMasterKey> {
  const keyIds = (await collect(storage.list("keys/")))
    .map((k) => k.key.slice("keys/".length))
    .sort();
  if (keyIds.length === 0) {
    throw new CofferError("CORRUPT", `Cannot open repository at ${storage.location}: no key files`);
  }
  const damaged: { id: string; message: string }[] = [];
  let wrong: unknown;
  for (const keyId of keyIds) {
    try {
      const master = openKeyFile(await storage.get(`keys/${keyId}`), password, keyId);
      return { master, keyId, damaged };
    } catch (err) {
      if (isCofferError(err, "WRONG_PASSWORD")) wrong = err;
      else if (isCofferError(err, "CORRUPT") || isCofferError(err, "UNSUPPORTED_VERSION"))
        damaged.push({ id: keyId, message: err.message });
      else if (!isCofferError(err, "NOT_FOUND")) throw err; // NOT_FOUND: removed meanwhile
    }
  }
  if (damaged.length > 0) {
    const what = damaged
      .map((d) => d.message.replace(/^Cannot (open|read) key file /, "key file "))
      .join("; ");
    const rest =
      wrong === undefined
        ? "; restore keys/ from a copy, or regain access with `coffer key recover --master-key-file FILE`"
        : "; the password opens no other key file";
    throw new CofferError(
      "CORRUPT",
      `Cannot open repository at ${storage.location}: ${what}${rest}`,
      {
        cause: wrong,
      },
    );
  }
  throw new CofferError(
    "WRONG_PASSWORD",
    `Cannot open repository at ${storage.location}: wrong password (no key file matches)`,
    { cause: wrong },
  );
}
