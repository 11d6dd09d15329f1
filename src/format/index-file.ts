import { compress, decompress } from "zstd-napi";
import type { Random } from "../core/deps.ts";
import { CofferError } from "../core/errors.ts";
import type { BlobType } from "./blob.ts";
import { objectId, shortId } from "./ids.ts";
import type { MasterKey } from "./master-key.ts";
import { seal, unseal } from "./seal.ts";
import { Fields, isHexId, isObject, parseJsonObject } from "./validate.ts";

/** One blob in an index: `[id, offset, length, rawLength, flags]` (id in hex). */
export type IndexBlob = [
  id: string,
  offset: number,
  length: number,
  rawLength: number,
  flags: number,
];

/** One pack in an index. */
export interface IndexPack {
  /** Pack object ID. */
  id: string;
  type: BlobType;
  /** Pack size in bytes. */
  size: number;
  blobs: IndexBlob[];
}

/** An index object (format v1): which blobs live where, and which older indexes it replaces. */
export interface IndexFile {
  v: 1;
  packs: IndexPack[];
  /** IDs of index objects whose content this one includes (they may be deleted). */
  supersedes: string[];
}

/** Largest decompressed index accepted (bounds memory on a hostile object). */
const MAX_INDEX_JSON = 1024 * 1024 * 1024;

/** Encodes an index: `seal(encKey, "index", zstd(JSON))`; returns its object ID and bytes. */
export function encodeIndex(
  master: MasterKey,
  index: IndexFile,
  random: Random,
): { id: string; bytes: Uint8Array } {
  const json = JSON.stringify({
    v: 1,
    packs: index.packs.map((p) => ({ id: p.id, type: p.type, size: p.size, blobs: p.blobs })),
    supersedes: index.supersedes,
  });
  const bytes = seal(
    master.encKey,
    "index",
    compress(Buffer.from(json, "utf8"), { compressionLevel: 3 }),
    random,
  );
  return { id: objectId(bytes), bytes };
}

/**
 * Decodes and validates an index object.
 * @throws CofferError CORRUPT `Cannot open index 3fa1c2d4: ...`; UNSUPPORTED_VERSION.
 */
export function decodeIndex(
  master: MasterKey,
  bytes: Uint8Array,
  indexId = objectId(bytes),
): IndexFile {
  const what = `index ${shortId(indexId)}`;
  const fail = (why: string, cause?: unknown): never => {
    throw new CofferError(
      "CORRUPT",
      `Cannot open ${what}: ${why}`,
      cause === undefined ? undefined : { cause },
    );
  };
  let json: Buffer;
  try {
    json = unseal(master.encKey, "index", bytes);
  } catch (err) {
    return fail("authentication failed", err);
  }
  try {
    json = decompress(json);
  } catch (err) {
    return fail("invalid zstd data", err);
  }
  if (json.length > MAX_INDEX_JSON) fail("too large");
  const f = new Fields(parseJsonObject(json, what), what);
  const v = f.uint("v");
  if (v !== 1)
    throw new CofferError("UNSUPPORTED_VERSION", `Cannot open ${what}: unsupported version ${v}`);
  const packs: IndexPack[] = [];
  for (const raw of f.array("packs")) {
    if (!isObject(raw)) return fail("pack entry is not an object");
    const pf = new Fields(raw, what);
    const type = pf.string("type");
    if (type !== "data" && type !== "tree") return pf.fail("type", 'must be "data" or "tree"');
    const size = pf.uint("size");
    const blobs: IndexBlob[] = [];
    for (const b of pf.array("blobs")) {
      if (!Array.isArray(b) || b.length !== 5)
        return fail("blob entry must be [id, offset, length, rawLength, flags]");
      const [id, offset, length, rawLength, flags] = b as unknown[];
      if (typeof id !== "string" || !isHexId(id)) return fail("blob entry has an invalid ID");
      for (const n of [offset, length, rawLength, flags]) {
        if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 0xffffffff)
          fail(`blob ${shortId(id)} has an invalid number`);
      }
      const e: IndexBlob = [
        id,
        offset as number,
        length as number,
        rawLength as number,
        flags as number,
      ];
      if (e[1] + e[2] > size) fail(`blob ${shortId(id)} lies outside its pack`);
      blobs.push(e);
    }
    packs.push({ id: pf.id("id"), type, size, blobs });
  }
  const supersedes = f
    .array("supersedes")
    .map((s) => (typeof s === "string" && isHexId(s) ? s : fail("supersedes holds an invalid ID")));
  return { v: 1, packs, supersedes };
}
