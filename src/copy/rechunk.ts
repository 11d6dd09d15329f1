import { CofferError } from "../core/errors.ts";
import { encodeBlob } from "../format/blob.ts";
import { Chunker, gearTable } from "../format/chunker.ts";
import { blobId, shortId } from "../format/ids.ts";
import type { Packer } from "../engine/backup/index.ts";
import type { Repository } from "../engine/repository/index.ts";

/** Packs uploading at once before a re-chunk waits (bounds memory). */
const MAX_UPLOADS = 4;

/** Counters of a copy's data path. */
export interface RechunkStats {
  /** Plaintext bytes read from the source. */
  bytesRead: number;
}

/**
 * Re-chunks one file for the destination: streams its source data blobs, in order, through
 * the destination's chunker (its own gear seed and sizes), hashes each chunk under the
 * destination's MAC key and stores the blobs the destination lacks. Returns the
 * destination's content list. The plaintext never leaves memory; each source blob is
 * authenticated by `loadBlob`.
 * @throws CofferError CORRUPT when a source blob is damaged (naming the file), or when the
 *   bytes read do not add up to the file's size.
 */
export async function rechunkFile(
  src: Repository,
  dst: Repository,
  packer: Packer,
  content: readonly string[],
  size: number,
  path: string,
  stats: RechunkStats,
  signal?: AbortSignal,
): Promise<string[]> {
  const chunker = new Chunker(gearTable(dst.master.chunkerSeed), dst.config.chunker);
  chunker.reset();
  const out: string[] = [];
  let pending: Buffer = Buffer.alloc(0);
  let total = 0;
  const emit = async (chunk: Buffer): Promise<void> => {
    const id = blobId(dst.master.macKey, chunk);
    const hex = id.toString("hex");
    out.push(hex);
    if (packer.known("data", id, hex)) return;
    packer.add(encodeBlob(dst.master, "data", chunk, dst.random), hex);
    await packer.waitUploads(MAX_UPLOADS);
  };
  for (const id of content) {
    if (signal?.aborted === true)
      throw new CofferError("INTERRUPTED", "Copy interrupted: nothing more was committed");
    let data: Uint8Array;
    try {
      data = await src.loadBlob("data", id);
    } catch (err) {
      throw new CofferError(
        "CORRUPT",
        `Cannot copy ${path}: data blob ${shortId(id)}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    total += data.length;
    stats.bytesRead += data.length;
    const buf = pending.length === 0 ? Buffer.from(data) : Buffer.concat([pending, data]);
    let scan = pending.length;
    let last = 0;
    for (;;) {
      const c = chunker.next(buf, scan, buf.length);
      if (c < 0) break;
      await emit(buf.subarray(last, c));
      last = scan = c;
    }
    pending = buf.subarray(last);
  }
  if (pending.length > 0) await emit(pending);
  if (total !== size)
    throw new CofferError(
      "CORRUPT",
      `Cannot copy ${path}: its blobs hold ${String(total)} bytes, the snapshot says ${String(size)}`,
    );
  return out;
}
