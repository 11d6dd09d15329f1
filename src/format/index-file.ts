import { compress, decompress } from "zstd-napi";
import type { Random } from "../core/deps.ts";
import { CofferError } from "../core/errors.ts";
import type { BlobType } from "./blob.ts";
import { objectId, shortId } from "./ids.ts";
import { encodeIndexPrefix, parseIndexPrefix } from "./index-pack-list.ts";
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

/**
 * An index object (format v1): which blobs live where, and which older indexes it replaces.
 * Stored with a plaintext list of its pack IDs in front (docs/format.md §7, ADR 0011).
 */
export interface IndexFile {
  v: 1;
  packs: IndexPack[];
  /** IDs of index objects whose content this one includes (they may be deleted). */
  supersedes: string[];
}

/** Largest decompressed index accepted (bounds memory on a hostile object). */
const MAX_INDEX_JSON = 1024 * 1024 * 1024;

/**
 * Encodes an index: `"CIDX" ‖ u32le(len(J)) ‖ J ‖ seal(encKey, "index", zstd(JSON))` where `J`
 * is the plaintext list of the pack IDs it describes (derived from `index.packs`, see
 * docs/format.md §7); returns its object ID and bytes.
 */
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
  const sealed = seal(
    master.encKey,
    "index",
    compress(Buffer.from(json, "utf8"), { compressionLevel: 3 }),
    random,
  );
  const bytes = Buffer.concat([encodeIndexPrefix(index.packs.map((p) => p.id)), sealed]);
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
  // The listed layout first; if its prefix or body does not hold, the whole object may be
  // an original-layout sealed index that starts with the magic by chance (p = 2^-32).
  const prefix = parseIndexPrefix(bytes, bytes.length);
  let listed: string[] | undefined;
  let json: Buffer | undefined;
  if (prefix.layout === "listed") {
    try {
      json = unseal(master.encKey, "index", bytes.subarray(prefix.bodyOffset));
      listed = prefix.packs;
    } catch {
      // fall back below
    }
  }
  if (json === undefined) {
    try {
      json = unseal(master.encKey, "index", bytes);
    } catch (err) {
      if (prefix.layout === "invalid") return fail(`invalid plaintext pack list (${prefix.why})`);
      if (prefix.layout === "too-large")
        return fail(`plaintext pack list of ${prefix.length} bytes is too large`);
      return fail("authentication failed", err);
    }
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
  if (listed !== undefined) {
    const inBody = [...new Set(packs.map((p) => p.id))].sort();
    if (inBody.length !== listed.length || inBody.some((id, i) => id !== listed[i]))
      fail("plaintext pack list does not match its content");
  }
  return { v: 1, packs, supersedes };
}
