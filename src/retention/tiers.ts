import { bucketKey, slotIndex, wallClock } from "./calendar.ts";
import { subtractDuration } from "./duration.ts";
import { tierKeepLabel, type RetentionSnapshot, type Tier } from "./policy.ts";

/**
 * The lower bounds of each tier's age range: tier `j` covers times `t` with
 * `bounds[j] < t <= bounds[j-1]` (the first tier ends at the anchor and also covers
 * anything newer).
 */
export function tierBounds(tiers: readonly Tier[], anchor: number, timeZone: string): number[] {
  const bounds: number[] = [];
  let previous = anchor;
  for (const tier of tiers) {
    const b =
      "until" in tier
        ? subtractDuration(anchor, tier.until, timeZone)
        : subtractDuration(previous, tier.for, timeZone);
    bounds.push(b);
    previous = b;
  }
  return bounds;
}

/**
 * Applies degressive tiers to one group. `sorted` is oldest first. Candidates cascade: tier
 * `j` picks, for each of its calendar slots, the oldest snapshot among those tier `j-1`
 * picked (tier 0 picks everything); a snapshot whose age falls in tier `j`'s range is kept
 * iff tier `j` picked it. Picks depend only on the snapshot set, never on the anchor, so
 * as time passes a snapshot is only ever dropped when it ages into a tier that does not
 * pick it, and then no later tier picks it either.
 * @returns reason per kept id, e.g. `"tier 2: 3/week"`.
 */
export function applyTiers(
  sorted: readonly RetentionSnapshot[],
  tiers: readonly Tier[],
  anchor: number,
  timeZone: string,
): Map<string, string> {
  const kept = new Map<string, string>();
  if (tiers.length === 0 || sorted.length === 0) return kept;
  const bounds = tierBounds(tiers, anchor, timeZone);
  // The first tier whose lower bound is older than t (earlier tiers did not take it).
  const tierOf = (t: number): number => bounds.findIndex((b) => t > b);
  const tierIndex = sorted.map((s) => tierOf(s.time));
  const walls = sorted.map((s) => wallClock(s.time, timeZone));
  let candidates = sorted.map((_, i) => i);
  tiers.forEach((tier, j) => {
    if (tier.keep !== "all") {
      const { count, per } = tier.keep;
      const seen = new Set<string>();
      candidates = candidates.filter((i) => {
        const w = walls[i]!;
        const slot = `${bucketKey(per, w)}#${slotIndex(per, count, w)}`;
        if (seen.has(slot)) return false;
        seen.add(slot);
        return true;
      });
    }
    const reason = `tier ${j + 1}: ${tierKeepLabel(tier.keep)}`;
    for (const i of candidates) if (tierIndex[i] === j) kept.set(sorted[i]!.id, reason);
  });
  return kept;
}
