import { randomBytes } from "node:crypto";
import { isCofferError } from "../core/errors.ts";
import type { Storage } from "../storage/storage.ts";

/** What `coffer` tells a coffer-server gateway about a failed run (`status/<time>-<rand>.json`). */
export interface RunStatus {
  ok: boolean;
  message: string;
  tags: string[];
  host: string;
  time: string;
}

/**
 * Writes a status object for a failed run so the gateway can raise a "backup failed" alert.
 * Write-once, plaintext and tiny (it reveals only the message, tags and host).
 */
export async function writeRunStatus(storage: Storage, s: RunStatus): Promise<string> {
  const key = `status/${s.time.replace(/[:.]/g, "-")}-${randomBytes(4).toString("hex")}.json`;
  await storage.putIfAbsent(key, Buffer.from(JSON.stringify(s) + "\n"));
  return key;
}

/**
 * Runs `fn`; when it fails and the repository is an `s3:` location (a coffer-server gateway),
 * reports the failure with {@link writeRunStatus} before rethrowing. Usage errors are not
 * reported, and a failure to report never hides the original error.
 */
export async function reportFailure<T>(
  ctx: { repoUrl: string; storage(): Promise<Storage>; hostname: string },
  tags: string[],
  fn: () => Promise<T>,
  now: () => number = () => Date.now(),
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (
      ctx.repoUrl.startsWith("s3:") &&
      !isCofferError(err, "BAD_INPUT") &&
      !isCofferError(err, "WRONG_PASSWORD")
    ) {
      const message = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
      await writeRunStatus(await ctx.storage(), {
        ok: false,
        message,
        tags,
        host: ctx.hostname,
        time: new Date(now()).toISOString(),
      }).catch(() => undefined);
    }
    throw err;
  }
}
