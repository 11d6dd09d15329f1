import { readFile } from "node:fs/promises";
import { isCofferError } from "../../core/errors.ts";
import { parseManifest } from "../../format/manifest.ts";
import type { ReceivedBody } from "../body.ts";
import type { ObjectContext } from "../context.ts";
import { checkIndexUpload, recordIndex, reviveIndexesOf } from "../gc/index-lists.ts";
import { admitManifest } from "../gc/manifest-refs.ts";
import { packIdOf } from "../gc/run-gc.ts";
import type { ManifestFacts } from "../manifests.ts";
import { S3Error } from "../s3/errors.ts";

const MANIFEST_PREFIX = "manifests/";

/** A received object (PutObject body or assembled multipart upload), before commit. */
export type ReceivedObject = Pick<ReceivedBody, "path" | "size" | "sha256">;

/** What admission learned about an object; `afterCommit` records it once stored. */
export interface AdmittedObject {
  afterCommit(created: boolean): Promise<void>;
}

/**
 * Validates a manifest upload before it is stored: the key must be `manifests/<sha256 of
 * the bytes>` and the body a valid v1 manifest (format/manifest.ts, strict).
 */
async function checkManifest(
  key: string,
  body: ReceivedObject,
): Promise<ManifestFacts | undefined> {
  if (!key.startsWith(MANIFEST_PREFIX)) return undefined;
  const id = key.slice(MANIFEST_PREFIX.length);
  if (!/^[0-9a-f]{64}$/.test(id))
    throw new S3Error(
      "InvalidManifest",
      `Invalid manifest key ${key}: expected manifests/<64 hex digits>`,
    );
  if (id !== body.sha256)
    throw new S3Error(
      "InvalidManifest",
      `Invalid manifest ${id.slice(0, 12)}: its name is not the SHA-256 of its bytes`,
    );
  try {
    const m = parseManifest(await readFile(body.path));
    return {
      snapshot: m.snapshot,
      host: m.host,
      tags: m.tags,
      time: m.time,
      stats: m.stats,
      packs: m.packs,
    };
  } catch (err) {
    if (isCofferError(err)) throw new S3Error("InvalidManifest", err.message, {}, { cause: err });
    throw err;
  }
}

/**
 * The one admission path of every object write (PutObject and CompleteMultipartUpload):
 * a `manifests/` object must be a valid manifest named by its SHA-256 and may not reference
 * destroyed packs; an `index/` object's plaintext pack list is read. Throws an S3 error
 * before anything is stored. After the commit, `afterCommit` records the manifest and index
 * facts and revives index objects pending GC that name a pack uploaded again.
 */
export async function admitObject(
  ctx: ObjectContext,
  body: ReceivedObject,
): Promise<AdmittedObject> {
  const { bucket, key } = ctx.target;
  const manifest = await checkManifest(key, body);
  if (manifest !== undefined) await admitManifest(ctx, manifest); // GC: refuse destroyed packs, revive pending ones
  const index = await checkIndexUpload(key, body); // its plaintext pack list, for index GC
  return {
    async afterCommit(created) {
      if (manifest !== undefined)
        await ctx.deps.metadata.manifests.record(bucket, key, manifest, ctx.now);
      if (index !== undefined) await recordIndex(ctx.deps.metadata.db, bucket, key, index, ctx.now);
      const pack = created ? packIdOf(key) : undefined;
      if (pack !== undefined) await reviveIndexesOf(ctx.deps.metadata, bucket, pack, ctx.now);
    },
  };
}
