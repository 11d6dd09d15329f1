import { open } from "node:fs/promises";
import { isCofferError } from "../../core/errors.ts";
import {
  MAX_PACK_LIST_BYTES,
  parseIndexPrefix,
  type IndexPrefix,
} from "../../format/index-pack-list.ts";
import type { ReceivedBody } from "../body.ts";
import type { Dialect } from "../db/dialect.ts";
import { cancelDeletion, executionStarted } from "../deletions/workflow.ts";
import type { Metadata } from "../metadata.ts";
import { S3Error } from "../s3/errors.ts";

const INDEX_KEY = /^index\/([0-9a-f]{64})$/;

/** What the gateway keeps of an `index/<id>` object: its pack list, or null without one. */
export interface IndexFacts {
  /** The plaintext pack list (docs/format.md §7), or null: never collected. */
  packs: string[] | null;
}

/**
 * Reads the plaintext prefix of an index object through `read(offset, length)`, asking only
 * for the bytes the prefix needs (8, then 8 + len(J)).
 */
export async function readIndexPrefix(
  read: (offset: number, length: number) => Promise<Uint8Array>,
  size: number,
): Promise<IndexPrefix> {
  let head: Uint8Array = new Uint8Array(0);
  for (;;) {
    const p = parseIndexPrefix(head, size);
    if (p.layout !== "need") return p;
    head = await read(0, Math.min(p.bytes, size));
    if (head.length < Math.min(p.bytes, size)) return { layout: "sealed" };
  }
}

/** The facts of an index object from its prefix; an index not named by its SHA-256 gets none. */
export function indexFacts(key: string, sha256: string, p: IndexPrefix): IndexFacts {
  const named = INDEX_KEY.exec(key)?.[1] === sha256;
  return { packs: named && p.layout === "listed" ? p.packs : null };
}

/**
 * Admission of an `index/<id>` upload (PutObject, CompleteMultipartUpload) before it is
 * stored: reads the plaintext pack list from the received file. A list longer than
 * {@link MAX_PACK_LIST_BYTES} → `400 InvalidIndex`; no list (original layout, or a sealed
 * object that begins with the magic by chance) is accepted and never collected.
 * Returns undefined for other keys.
 */
export async function checkIndexUpload(
  key: string,
  body: Pick<ReceivedBody, "path" | "size" | "sha256">,
): Promise<IndexFacts | undefined> {
  if (!INDEX_KEY.test(key)) return undefined;
  const fh = await open(body.path, "r");
  let p: IndexPrefix;
  try {
    p = await readIndexPrefix(async (offset, length) => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    }, body.size);
  } finally {
    await fh.close();
  }
  if (p.layout === "too-large")
    throw new S3Error(
      "InvalidIndex",
      `Invalid index ${key.slice(6, 18)}: its plaintext pack list claims ${p.length} bytes (at most ${MAX_PACK_LIST_BYTES})`,
    );
  return indexFacts(key, body.sha256, p);
}

/** Records an index object's facts once (an identical re-upload changes nothing). */
export async function recordIndex(
  db: Dialect,
  bucket: string,
  key: string,
  facts: IndexFacts,
  now: number,
): Promise<void> {
  await db.transaction(async (tx) => {
    const r = await tx.run(
      "INSERT INTO index_objects (bucket, key, listed, recorded_at) VALUES (?, ?, ?, ?) ON CONFLICT (bucket, key) DO NOTHING",
      [bucket, key, facts.packs === null ? 0 : 1, now],
    );
    if (r.changes === 0) return;
    for (const pack of facts.packs ?? [])
      await tx.run(
        "INSERT INTO index_packs (bucket, index_key, pack_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [bucket, key, pack],
      );
  });
}

/**
 * A pack is back (uploaded again): every PENDING(gc) deletion of an index object whose list
 * names it is cancelled (revived), unless its execution started. Returns the revived keys.
 */
export async function reviveIndexesOf(
  md: Metadata,
  bucket: string,
  packId: string,
  now: number,
): Promise<string[]> {
  const rows = await md.db.all<{ id: number; key: string }>(
    `SELECT d.id, d.key FROM deletions d JOIN index_packs ip ON ip.bucket = d.bucket AND ip.index_key = d.key
     WHERE d.bucket = ? AND ip.pack_id = ? AND d.state = 'PENDING' AND d.reason = 'gc'`,
    [bucket, packId],
  );
  const out: string[] = [];
  for (const r of rows) {
    if (await executionStarted(md.db, r.id)) continue;
    try {
      await cancelDeletion(md, r.id, `gc (pack ${packId.slice(0, 8)} uploaded again)`, now);
      out.push(r.key);
    } catch (err) {
      // The executor claimed it meanwhile: too late, like a pack (docs/server.md).
      if (!isCofferError(err, "BAD_INPUT")) throw err;
    }
  }
  return out;
}
