import type { RetentionDecision } from "./apply.ts";

/**
 * The snapshot ids the gateway should file deletion requests for: every forgotten id that
 * is not already pending, each once, sorted. Idempotent: running it again with the ids it
 * returned added to `alreadyPending` returns nothing. An id kept by any group is never
 * returned.
 */
export function planDeletions(
  decision: RetentionDecision,
  alreadyPending: ReadonlySet<string>,
): string[] {
  const kept = new Set<string>();
  for (const g of decision.groups) for (const k of g.keep) kept.add(k.id);
  const out = new Set<string>();
  for (const g of decision.groups) {
    for (const { id } of g.forget) if (!kept.has(id) && !alreadyPending.has(id)) out.add(id);
  }
  return [...out].sort();
}
