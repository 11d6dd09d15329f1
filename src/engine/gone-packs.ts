import { isCofferError } from "../core/errors.ts";
import type { Storage } from "../storage/storage.ts";

/** Gateway object listing packs pending GC or destroyed (docs/format.md, "Gateway objects"). */
const UNAVAILABLE_PACKS = "gateway/unavailable-packs.json";

/**
 * Packs a coffer gateway destroyed on purpose (garbage collection): the `gone` list of
 * `gateway/unavailable-packs.json`. Empty for plain S3 and local repositories.
 */
export async function gonePacks(storage: Storage): Promise<Set<string>> {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(await storage.get(UNAVAILABLE_PACKS)).toString("utf8"));
  } catch (err) {
    if (isCofferError(err, "NOT_FOUND") || err instanceof SyntaxError) return new Set();
    if (isCofferError(err) && /\b(403|AccessDenied)\b/.test(err.message)) return new Set();
    throw err;
  }
  const gone = (doc as { gone?: unknown } | null)?.gone;
  return new Set(Array.isArray(gone) ? gone.filter((x): x is string => typeof x === "string") : []);
}
