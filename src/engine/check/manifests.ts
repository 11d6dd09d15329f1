import { objectId, shortId } from "../../format/ids.ts";
import { type Manifest, parseManifest } from "../../format/manifest.ts";
import type { CheckState } from "./packs.ts";
import type { PackNeeds, TreeState } from "./trees.ts";
import { collect, mapLimit } from "../../core/parallel.ts";

const msg = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Compares every manifest's pack list with the packs its snapshot really references. A
 * manifest missing a referenced pack is an error (the gateway's GC could delete that pack),
 * unless another snapshot's manifest names that pack: then the gateway keeps it for now and
 * it is a warning (after a lost pack was uploaded again by a later backup, `coffer repair
 * snapshots` makes the older manifests exact). An extra pack is a warning; a snapshot
 * without manifest is a warning. Manifests in `pending` (deletion pending at a coffer gateway)
 * are left out.
 */
export async function checkManifests(
  s: CheckState,
  t: TreeState,
  packsOf: Map<string, PackNeeds>,
  pending: ReadonlySet<string> = new Set(),
): Promise<void> {
  const keys = (await collect(s.storage.list("manifests/")))
    .map((o) => o.key)
    .filter((k) => !pending.has(k))
    .sort();
  const read = await mapLimit(keys, 4, async (key) => {
    const id = key.slice("manifests/".length);
    const what = `manifest ${shortId(id)}`;
    try {
      const bytes = await s.storage.get(key);
      if (objectId(bytes) !== id)
        throw new Error(`Cannot read ${what}: content does not match its name`);
      return { what, m: parseManifest(bytes) };
    } catch (err) {
      s.problems.push({ severity: "error", object: what, message: msg(err) });
      return undefined;
    }
  });
  const manifests = read.filter((x): x is { what: string; m: Manifest } => x !== undefined);
  /** Pack → snapshots (existing ones) whose manifest names it. */
  const namedBy = new Map<string, Set<string>>();
  for (const { m } of manifests) {
    if (!packsOf.has(m.snapshot)) continue;
    for (const p of m.packs) namedBy.set(p, (namedBy.get(p) ?? new Set()).add(m.snapshot));
  }
  const seen = new Set<string>();
  for (const { what, m } of manifests) {
    seen.add(m.snapshot);
    const real = packsOf.get(m.snapshot);
    if (real === undefined) {
      if (!t.unreadable.has(m.snapshot)) {
        s.problems.push({
          severity: "info",
          object: what,
          message: `${what} names snapshot ${shortId(m.snapshot)}, which does not exist (forgotten)`,
        });
      }
      continue;
    }
    const listed = new Set(m.packs);
    const missing = [...real.required].filter((p) => !listed.has(p));
    const allowed = new Set(real.required);
    for (const cands of real.anyOf.values()) {
      if (!cands.some((p) => listed.has(p))) missing.push(cands[0]!);
      for (const p of cands) allowed.add(p);
    }
    const extra = m.packs.filter((p) => !allowed.has(p));
    const unkept = missing.filter((p) =>
      [...(namedBy.get(p) ?? [])].every((x) => x === m.snapshot),
    );
    if (missing.length > 0) {
      const list = `${missing.length} referenced pack(s): ${missing.slice(0, 5).map(shortId).join(", ")}`;
      s.problems.push(
        unkept.length > 0
          ? {
              severity: "error",
              object: what,
              message: `${what} of snapshot ${shortId(m.snapshot)} omits ${list}`,
            }
          : {
              severity: "warning",
              object: what,
              message: `${what} of snapshot ${shortId(m.snapshot)} omits ${list}, which other snapshots' manifests name (run coffer repair snapshots)`,
            },
      );
    }
    if (extra.length > 0) {
      s.problems.push({
        severity: "warning",
        object: what,
        message: `${what} of snapshot ${shortId(m.snapshot)} lists ${extra.length} pack(s) the snapshot does not reference: ${extra.slice(0, 5).map(shortId).join(", ")}`,
      });
    }
  }
  for (const id of t.snapshots.keys()) {
    if (!seen.has(id))
      s.problems.push({
        severity: "warning",
        object: `snapshot ${shortId(id)}`,
        message: `snapshot ${shortId(id)} has no manifest (the gateway cannot see its packs)`,
      });
  }
}
