import { CofferError, isCofferError } from "../../core/errors.ts";
import type { Random } from "../../core/deps.ts";
import type { Storage } from "../../storage/storage.ts";
import { PRUNE_PLAN_PREFIX } from "../repository/index.ts";
import { collect } from "../../core/parallel.ts";

/**
 * A prune plan `prune/<id>.json` (plaintext, docs/format.md §9): phase 1 of a prune. Its
 * candidates are packs no snapshot referenced when it was written; every backup that starts
 * later excludes them from deduplication. Phase 2, once `createdAt + graceMs` has passed,
 * deletes the candidates still unreferenced.
 */
export interface PrunePlan {
  v: 1;
  key: string;
  /** ms since the epoch (the pruning client's clock). */
  createdAt: number;
  graceMs: number;
  /** Index objects that existed when the plan was written: a newer one naming a candidate rescues it. */
  indexIds: string[];
  candidates: { id: string; size: number }[];
}

/** Every readable prune plan, oldest first (unreadable ones are reported and skipped). */
export async function readPlans(
  storage: Storage,
  onBad?: (key: string, why: string) => void,
): Promise<PrunePlan[]> {
  const keys = (await collect(storage.list(PRUNE_PLAN_PREFIX))).map((o) => o.key).sort();
  const out: PrunePlan[] = [];
  for (const key of keys) {
    try {
      const doc = JSON.parse(
        Buffer.from(await storage.get(key)).toString("utf8"),
      ) as Partial<PrunePlan>;
      if (
        doc.v !== 1 ||
        typeof doc.createdAt !== "number" ||
        typeof doc.graceMs !== "number" ||
        !Array.isArray(doc.candidates) ||
        !Array.isArray(doc.indexIds)
      ) {
        throw new Error("not a v1 prune plan");
      }
      out.push({
        v: 1,
        key,
        createdAt: doc.createdAt,
        graceMs: doc.graceMs,
        indexIds: doc.indexIds,
        candidates: doc.candidates,
      });
    } catch (err) {
      if (isCofferError(err, "NOT_FOUND")) continue;
      onBad?.(key, err instanceof Error ? err.message : String(err));
    }
  }
  return out.sort((a, b) => a.createdAt - b.createdAt || (a.key < b.key ? -1 : 1));
}

/** Writes a new plan (write-once, a fresh name). */
export async function writePlan(
  storage: Storage,
  random: Random,
  p: Omit<PrunePlan, "v" | "key">,
): Promise<PrunePlan> {
  const stamp = new Date(p.createdAt)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const key = `${PRUNE_PLAN_PREFIX}${stamp}-${Buffer.from(random(6)).toString("hex")}.json`;
  const plan: PrunePlan = { v: 1, key, ...p };
  const doc = {
    v: 1,
    createdAt: p.createdAt,
    graceMs: p.graceMs,
    indexIds: p.indexIds,
    candidates: p.candidates,
  };
  if ((await storage.putIfAbsent(key, Buffer.from(JSON.stringify(doc) + "\n"))) === "exists") {
    throw new CofferError("IO", `Cannot write prune plan ${key}: it already exists`);
  }
  return plan;
}
