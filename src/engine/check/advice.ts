import type { CheckReport, RepairStep } from "./report.ts";

const isError = (p: CheckReport["problems"][number]): boolean => p.severity === "error";

/**
 * The repair commands to run, in order, for the damage a check found (docs/cli.md, "What
 * check advises"): `coffer repair index` for a damaged index object, a missing or unreadable
 * pack, or blobs no index names while stored packs are unindexed (`--read-all-packs` when a
 * stored pack's blobs fail authentication); a backup of the same paths when data is lost, to
 * upload again what is still on the source; then `coffer repair snapshots --forget` for
 * snapshots that still miss data or cannot be read; `coffer repair snapshots` alone when only
 * manifests are wrong. Empty when there is nothing to repair.
 */
export function repairAdvice(
  r: Pick<CheckReport, "problems" | "damagedPacks" | "affected" | "unreferencedPacks">,
): RepairStep[] {
  const errors = r.problems.filter(isError);
  const badIndex = errors.filter((p) => p.object.startsWith("index "));
  const notIndexed =
    r.affected.some((a) => a.paths.some((p) => p.reason.includes("not in any index"))) ||
    errors.some((p) => p.object.startsWith("tree ") && p.message.includes("not in any index"));
  // Blobs no index names are lost for good only when no index is damaged and no stored pack
  // is unindexed (else repair index may bring them back).
  const reindexable = notIndexed && (badIndex.length > 0 || r.unreferencedPacks.length > 0);
  const corrupt = r.damagedPacks.filter((d) => d.problem.includes("fail authentication"));
  const lost = r.damagedPacks.filter((d) => !corrupt.includes(d));
  const destroyed = errors.some((p) => p.message.includes("garbage collection destroyed"));
  const dataLoss =
    r.damagedPacks.length > 0 ||
    destroyed ||
    r.affected.some((a) => a.paths.some((p) => p.packs.length > 0)) ||
    (notIndexed && !reindexable);
  const unreadable = r.affected.filter((a) => a.unreadable !== undefined);
  const manifests = r.problems.some(
    (p) =>
      p.object.startsWith("manifest ") &&
      (p.severity === "error" || p.message.includes("coffer repair snapshots")),
  );
  const steps: RepairStep[] = [];
  const why: string[] = [];
  if (badIndex.length > 0) why.push(`${badIndex.length} damaged index object(s)`);
  if (lost.length > 0) why.push(`${lost.length} missing or unreadable pack(s)`);
  if (reindexable) why.push("blobs that no index names");
  if (corrupt.length > 0) {
    why.push(`${corrupt.length} pack(s) with damaged blobs`);
    steps.push({
      command: "coffer repair index --read-all-packs",
      why: `rebuilds the index from the stored packs (${why.join(", ")}), copying the intact blobs of damaged packs`,
    });
  } else if (why.length > 0)
    steps.push({
      command: "coffer repair index",
      why: `rebuilds the index from the stored packs (${why.join(", ")})`,
    });
  if (dataLoss)
    steps.push({
      command: "coffer backup <the same paths>",
      why: "uploads again the lost data that is still on the source (a backup never reuses a missing blob)",
    });
  if (dataLoss || unreadable.length > 0)
    steps.push({
      command: "coffer repair snapshots --forget",
      why: "rewrites the snapshots that still miss data without it, and forgets the damaged originals and unreadable snapshots",
    });
  else if (manifests)
    steps.push({
      command: "coffer repair snapshots",
      why: "writes exact manifests for the snapshots whose manifest omits packs they use",
    });
  return steps;
}
