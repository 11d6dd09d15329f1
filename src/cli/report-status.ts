import { randomBytes } from "node:crypto";
import { isCofferError } from "../core/errors.ts";
import { seal } from "../format/seal.ts";
import type { Storage } from "../storage/storage.ts";

/** What `coffer` knows about a run it reports to a coffer-server gateway. */
export interface RunStatus {
  ok: boolean;
  /** The error message: sealed, never sent in plaintext. */
  message: string;
  tags: string[];
  host: string;
  time: string;
  /** The error's stable code (`COMMAND_FAILED`, `IO`, ...), sent in plaintext. */
  code?: string;
}

/**
 * The fields of a status object the gateway may read in plaintext (docs/server.md, "What the
 * gateway can read"): the outcome, an error code, tags and host (also in every manifest),
 * times and sizes. Anything else a caller passes (message, log lines, paths, argv, stderr)
 * is sealed under the repository key in `details`, or dropped when no key is at hand.
 */
const PLAIN: Readonly<Record<string, (v: unknown) => boolean>> = {
  ok: (v) => typeof v === "boolean",
  result: (v) => typeof v === "string" && /^[a-z][a-z-]{0,30}$/.test(v),
  code: (v) => typeof v === "string" && /^[A-Z][A-Z0-9_]{0,40}$/.test(v),
  tags: (v) => Array.isArray(v) && v.every((t) => typeof t === "string"),
  host: (v) => typeof v === "string",
  time: (v) => typeof v === "string" && !Number.isNaN(Date.parse(v)),
  start: (v) => typeof v === "string" && !Number.isNaN(Date.parse(v)),
  duration: (v) => typeof v === "number",
  bytes_read: (v) => typeof v === "number",
  bytes_added: (v) => typeof v === "number",
  /** A drill's recovery point: the drilled snapshot's age in seconds. */
  recovery_point: (v) => typeof v === "number",
  snapshots: (v) =>
    typeof v === "number" ||
    (Array.isArray(v) && v.every((s) => typeof s === "string" && /^[0-9a-f]{64}$/.test(s))),
};

/** The seal key and randomness for a status object's details. */
export interface StatusSealing {
  /** The repository master key's encryption key; without it the details are dropped. */
  key?: Uint8Array;
  random?: (n: number) => Uint8Array;
}

/**
 * Builds the stored form of a status object (`v: 2`): the plaintext fields above, and
 * `details`, the base64 of `seal(key, "status", JSON of every other field)`.
 */
export function statusObject(
  s: RunStatus & Record<string, unknown>,
  o: StatusSealing = {},
): Record<string, unknown> {
  const plain: Record<string, unknown> = { v: 2 };
  const details: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (v === undefined) continue;
    if (PLAIN[k]?.(v) === true) plain[k] = v;
    else details[k] = v;
  }
  if (o.key !== undefined && Object.keys(details).length > 0) {
    const random = o.random ?? ((n: number) => randomBytes(n));
    plain.details = seal(o.key, "status", Buffer.from(JSON.stringify(details)), random).toString(
      "base64",
    );
  }
  return plain;
}

/**
 * Writes a status object so the gateway can raise a "backup failed" alert. Write-once and
 * tiny; the gateway reads only the outcome, code, tags, host, times and sizes
 * ({@link statusObject}).
 */
export async function writeRunStatus(
  storage: Storage,
  s: RunStatus & Record<string, unknown>,
  o: StatusSealing = {},
): Promise<string> {
  const key = `status/${s.time.replace(/[:.]/g, "-")}-${randomBytes(4).toString("hex")}.json`;
  await storage.putIfAbsent(key, Buffer.from(JSON.stringify(statusObject(s, o)) + "\n"));
  return key;
}

/**
 * Runs `fn`; when it fails and the repository is an `s3:` location (a coffer-server gateway),
 * reports the failure with {@link writeRunStatus} before rethrowing. Usage errors are not
 * reported, and a failure to report never hides the original error. `statusKey` gives the
 * opened repository's encryption key (the message is sealed under it).
 */
export async function reportFailure<T>(
  ctx: {
    repoUrl: string;
    storage(): Promise<Storage>;
    hostname: string;
    statusKey?(): Uint8Array | undefined;
  },
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
      const key = ctx.statusKey?.();
      await writeRunStatus(
        await ctx.storage(),
        {
          ok: false,
          message,
          tags,
          host: ctx.hostname,
          time: new Date(now()).toISOString(),
          code: isCofferError(err) ? err.code : "INTERNAL",
        },
        key !== undefined ? { key } : {},
      ).catch(() => undefined);
    }
    throw err;
  }
}
