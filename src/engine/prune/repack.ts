import { CofferError, isCofferError } from "../../core/errors.ts";
import type { BlobType } from "../../format/blob.ts";
import { shortId } from "../../format/ids.ts";
import type { IndexBlob, IndexPack } from "../../format/index-file.ts";
import { packKey } from "../../format/pack.ts";
import { saveIndex } from "../repository/index.ts";
import type { PackUsage } from "./accounting.ts";
import { verifyBlob } from "./repack-verify.ts";
import { RepackWriter } from "./repack-writer.ts";
import type { Repository } from "../repository/index.ts";

/**
 * Bytes read from a source pack at once. Two reads are in memory (one verified, the next
 * fetched meanwhile), so this bounds what a repack holds of its sources.
 */
export const REPACK_READ_BYTES = 4 << 20;

/** One read of a source pack: the used blobs lying in `[offset, end)`, by offset. */
interface Span {
  src: PackUsage;
  offset: number;
  end: number;
  blobs: IndexBlob[];
}

/**
 * Splits the used blobs of `src` into reads of at most `max` bytes (a larger blob is read
 * alone), skipping whatever precedes the first and follows the last used blob of each read.
 */
export function spans(src: PackUsage, max: number): Span[] {
  const out: Span[] = [];
  let cur: Span | undefined;
  for (const b of [...src.used].sort((x, y) => x[1] - y[1])) {
    const [, offset, length] = b;
    if (cur === undefined || offset + length - cur.offset > max) {
      cur = { src, offset, end: offset + length, blobs: [b] };
      out.push(cur);
    } else {
      cur.blobs.push(b);
      cur.end = Math.max(cur.end, offset + length);
    }
  }
  return out;
}

/** What {@link repackPacks} wrote. */
export interface RepackResult {
  /** The new packs, as written to the new index. */
  packs: IndexPack[];
  /** The new index object naming them (undefined when nothing was repacked). */
  indexId?: string;
  blobs: number;
  /** Sealed bytes copied. */
  bytes: number;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Copies the used blobs of `sources` into new packs of about `packSize` bytes (tree and data
 * blobs separately), then writes one index naming the new packs. Every blob is decrypted,
 * decompressed and checked against its ID before it is copied (its original sealed bytes
 * are what is copied), so a corrupt blob is never propagated: it stops the repack with a
 * one-line CORRUPT error naming pack and blob, and the packs written so far (which no index
 * names yet, so nothing can reference them) are deleted again. The old packs are untouched;
 * deleting them is the caller's business (a prune plan).
 */
export async function repackPacks(
  repo: Repository,
  sources: readonly PackUsage[],
  o: { packSize: number; onEvent?: (m: string) => void },
): Promise<RepackResult> {
  const written: IndexPack[] = [];
  const result: RepackResult = { packs: written, blobs: 0, bytes: 0 };
  if (sources.length === 0) return result;
  let indexing = false;
  let open: RepackWriter | undefined;
  try {
    for (const type of ["tree", "data"] as BlobType[]) {
      const list = sources.filter((s) => s.type === type);
      let left = list.reduce((n, s) => n + s.usedBytes, 0);
      const flush = async (): Promise<void> => {
        if (open === undefined) return;
        written.push(await open.commit(repo.master, repo.random));
        open = undefined;
      };
      const reads = list.flatMap((s) => spans(s, REPACK_READ_BYTES));
      // Fetch the next read while the current one is verified.
      const fetch = (i: number): Promise<Uint8Array> | undefined => {
        const r = reads[i];
        if (r === undefined) return undefined;
        const range = { offset: r.offset, length: r.end - r.offset };
        const p = repo.storage.get(packKey(r.src.id), range);
        p.catch(() => undefined);
        return p;
      };
      let next = fetch(0);
      for (let i = 0; i < reads.length; i++) {
        const { src, offset: start, blobs } = reads[i] as Span;
        let bytes: Uint8Array;
        try {
          bytes = await (next as Promise<Uint8Array>);
        } catch (err) {
          throw new CofferError(
            isCofferError(err) ? err.code : "IO",
            `Cannot repack pack ${shortId(src.id)}: ${message(err)}`,
            { cause: err },
          );
        }
        next = fetch(i + 1);
        for (const [id, offset, length, rawLength, flags] of blobs) {
          const at = offset - start;
          if (at + length > bytes.length)
            throw new CofferError(
              "CORRUPT",
              `Cannot repack pack ${shortId(src.id)}: blob ${shortId(id)} lies beyond the pack's end (run coffer check --read-data)`,
            );
          const sealed = bytes.subarray(at, at + length);
          try {
            verifyBlob(repo.master, type, sealed, flags, id, rawLength);
          } catch (err) {
            throw new CofferError(
              "CORRUPT",
              `Cannot repack pack ${shortId(src.id)}: ${type} blob ${shortId(id)} is corrupt (${message(err)}); nothing was pruned, run coffer check --read-data`,
              { cause: err },
            );
          }
          open ??= await RepackWriter.open(repo.storage, type, Math.min(left, o.packSize));
          open.add(id, sealed, rawLength, flags);
          left -= length;
          result.blobs++;
          result.bytes += length;
          if (open.size >= o.packSize) await flush();
        }
        // The new pack no longer needs the bytes of this read.
        await open?.drain();
      }
      await flush();
    }
    if (written.length > 0) {
      indexing = true;
      result.indexId = await saveIndex(repo.storage, repo.master, repo.random, written);
      o.onEvent?.(
        `repacked ${result.blobs} blob(s) from ${sources.length} pack(s) into ${written.length} new pack(s), index ${shortId(result.indexId)}`,
      );
    }
    return result;
  } catch (err) {
    // No index names the new packs: nobody can reference them, so they go again. (If writing
    // the index failed, it may exist all the same: then the packs stay, as duplicates that
    // the next prune reclaims.)
    await open?.abort().catch(() => undefined);
    if (!indexing)
      for (const p of written) await repo.storage.delete(packKey(p.id)).catch(() => undefined);
    throw err;
  }
}
