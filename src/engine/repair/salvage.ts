import { isCofferError } from "../../core/errors.ts";
import type { EncodedBlob } from "../../format/blob.ts";
import { BlobTable } from "../../format/blob-table.ts";
import { objectId, shortId } from "../../format/ids.ts";
import type { IndexPack } from "../../format/index-file.ts";
import type { MasterKey } from "../../format/master-key.ts";
import { packKey, readPackHeader } from "../../format/pack.ts";
import type { Random } from "../../core/deps.ts";
import type { Storage } from "../../storage/storage.ts";
import { addPack } from "../repository/index.ts";
import { Packer } from "../backup/index.ts";
import { verifyBlob } from "../prune/index.ts";

/** A pack read whole: intact (its entry), or damaged with the blobs that still verify. */
export type PackVerdict =
  { ok: true; entry: IndexPack } | { ok: false; why: string; good: EncodedBlob[]; lost: number };

/**
 * Downloads pack `id` whole. Intact when its SHA-256 is its name and its header opens; else
 * damaged, with each blob its header lists decrypted and checked against its ID: those
 * that verify are kept (their sealed bytes, for {@link salvageBlobs}), the others counted
 * lost. A pack whose header cannot be opened keeps nothing.
 * @throws storage errors (NOT_FOUND when it vanished).
 */
export async function readWholePack(
  storage: Storage,
  master: MasterKey,
  id: string,
): Promise<PackVerdict> {
  const bytes = await storage.get(packKey(id));
  let header;
  try {
    header = readPackHeader(master, bytes, bytes.length, id);
  } catch (err) {
    if (!isCofferError(err, "CORRUPT")) throw err;
    return { ok: false, why: err.message, good: [], lost: 0 };
  }
  if ("need" in header)
    return { ok: false, why: `Cannot open pack ${shortId(id)}: truncated`, good: [], lost: 0 };
  if (objectId(bytes) === id)
    return {
      ok: true,
      entry: {
        id,
        type: header.type,
        size: bytes.length,
        blobs: header.entries.map((e) => [
          e.id.toString("hex"),
          e.offset,
          e.length,
          e.rawLength,
          e.flags,
        ]),
      },
    };
  const good: EncodedBlob[] = [];
  let lost = 0;
  for (const e of header.entries) {
    const sealed = bytes.subarray(e.offset, e.offset + e.length);
    try {
      verifyBlob(master, e.type, sealed, e.flags, e.id.toString("hex"), e.rawLength);
      good.push({
        id: e.id,
        type: e.type,
        sealed: Uint8Array.from(sealed),
        rawLength: e.rawLength,
        flags: e.flags,
      });
    } catch (err) {
      if (!isCofferError(err, "CORRUPT")) throw err;
      lost++;
    }
  }
  return {
    ok: false,
    why: `Cannot open pack ${shortId(id)}: checksum mismatch (${String(lost)} of ${String(header.entries.length)} blobs fail authentication)`,
    good,
    lost,
  };
}

/**
 * Copies verified blobs of damaged packs into new packs (their sealed bytes unchanged, as a
 * repack does), skipping blobs that an intact pack of `kept` already holds. Returns the new
 * packs' index entries (the packs are stored; indexing them is the caller's).
 */
export async function salvageBlobs(
  storage: Storage,
  master: MasterKey,
  random: Random,
  packSize: number,
  kept: readonly IndexPack[],
  blobs: readonly EncodedBlob[],
): Promise<IndexPack[]> {
  const table = new BlobTable(
    Math.max(
      1024,
      kept.reduce((n, p) => n + p.blobs.length, 0),
    ),
  );
  for (const p of kept) addPack(table, p);
  const packer = new Packer(storage, master, random, table, packSize);
  for (const b of blobs) packer.add(b);
  await packer.flush();
  return packer.indexPacks;
}
