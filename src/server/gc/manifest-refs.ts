import type { RequestContext } from "../context.ts";
import { cancelDeletion, executionStarted } from "../deletions/workflow.ts";
import type { ManifestFacts } from "../manifests.ts";
import { S3Error } from "../s3/errors.ts";
import { packKeyOf } from "./run-gc.ts";

const shortId = (id: string): string => id.slice(0, 8);

/**
 * Admission of a manifest against GC state, before it is stored:
 * - a referenced pack that the executor destroyed (or is destroying) → `400 InvalidManifest`
 *   naming the pack: the client's next backup excludes it (gateway/unavailable-packs.json)
 *   and writes the data again;
 * - a referenced pack with a PENDING deletion of reason `gc` is revived (cancelled).
 */
export async function admitManifest(ctx: RequestContext, m: ManifestFacts): Promise<void> {
  const md = ctx.deps.metadata;
  const { bucket } = ctx.target;
  for (const pack of m.packs) {
    const key = packKeyOf(pack);
    const pend = await md.deletions.pending(bucket, key);
    const destroying = pend !== undefined && (await executionStarted(md.db, pend.id));
    const present = (await md.objects.get(bucket, key)) !== undefined;
    if (destroying || !present) {
      const gone = await md.db.get<{ id: number }>(
        "SELECT id FROM deletions WHERE bucket = ? AND key = ? AND state = 'EXECUTED' ORDER BY id DESC LIMIT 1",
        [bucket, key],
      );
      if (destroying || gone !== undefined) {
        throw new S3Error(
          "InvalidManifest",
          `Manifest for snapshot ${shortId(m.snapshot)} references pack ${shortId(pack)}, which garbage collection destroyed; back up again: the client rewrites the missing data`,
          { CofferMissingPack: pack },
        );
      }
      continue;
    }
    if (pend?.reason === "gc")
      await cancelDeletion(
        md,
        pend.id,
        `revived by manifest of snapshot ${shortId(m.snapshot)}`,
        ctx.now,
      );
  }
}
