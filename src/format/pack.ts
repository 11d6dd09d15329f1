import type { Random } from "../core/deps.ts";
import { CofferError } from "../core/errors.ts";
import type { BlobType, EncodedBlob } from "./blob.ts";
import { objectId, shortId } from "./ids.ts";
import type { MasterKey } from "./master-key.ts";
import { seal, unseal, SEAL_OVERHEAD } from "./seal.ts";

/** Bytes per blob in a pack header's plaintext. */
export const PACK_ENTRY_LENGTH = 42;
/** Target pack size (format v1): 16 MiB. */
export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;
/** A good first tail read for {@link readPackHeader}. */
export const PACK_TAIL_READ = 64 * 1024;
/** Largest header accepted when reading (bounds memory for hostile packs). */
const MAX_HEADER = 64 * 1024 * 1024;

/** One blob's location in a pack. */
export interface PackEntry {
  /** Blob ID (32 bytes). */
  id: Buffer;
  type: BlobType;
  flags: number;
  /** Offset of the sealed blob from the start of the pack. */
  offset: number;
  /** Length of the sealed blob. */
  length: number;
  /** Length of the raw plaintext. */
  rawLength: number;
}

/** A finished pack: its object ID (storage name `data/<id[0:2]>/<id>`), bytes and entries. */
export interface FinishedPack {
  id: string;
  bytes: Uint8Array;
  type: BlobType;
  entries: PackEntry[];
}

/** Storage key of a pack: `data/<id[0:2]>/<id>`. */
export function packKey(id: string): string {
  return `data/${id.slice(0, 2)}/${id}`;
}

/**
 * Collects encoded blobs of one type into a pack:
 * `blob₀ ‖ … ‖ blobₙ ‖ sealedHeader ‖ u32le(len(sealedHeader))`.
 */
export class PackBuilder {
  private readonly parts: Uint8Array[] = [];
  private readonly entries: PackEntry[] = [];
  private bytes = 0;

  constructor(readonly type: BlobType) {}

  /** Appends a blob; BAD_INPUT if its type differs from the pack's. */
  add(blob: EncodedBlob): PackEntry {
    if (blob.type !== this.type) {
      throw new CofferError("BAD_INPUT", `Cannot add a ${blob.type} blob to a ${this.type} pack`);
    }
    const e: PackEntry = {
      id: blob.id,
      type: blob.type,
      flags: blob.flags,
      offset: this.bytes,
      length: blob.sealed.length,
      rawLength: blob.rawLength,
    };
    this.parts.push(blob.sealed);
    this.entries.push(e);
    this.bytes += blob.sealed.length;
    return e;
  }

  /** Bytes of blobs added so far (the final pack adds the header). */
  get size(): number {
    return this.bytes;
  }

  /** Number of blobs added. */
  get count(): number {
    return this.entries.length;
  }

  /** Seals the header and returns the pack; the builder must not be reused. */
  finish(master: MasterKey, random: Random): FinishedPack {
    const trailer = packTrailer(this.entries, master, random);
    const bytes = Buffer.concat([...this.parts, trailer]);
    return { id: objectId(bytes), bytes, type: this.type, entries: this.entries.slice() };
  }
}

/**
 * The bytes that end a pack after its blobs: `sealedHeader ‖ u32le(len(sealedHeader))` for
 * `entries` (in blob order). For writers that stream the blobs themselves.
 */
export function packTrailer(
  entries: readonly PackEntry[],
  master: MasterKey,
  random: Random,
): Buffer {
  const header = Buffer.alloc(entries.length * PACK_ENTRY_LENGTH);
  let p = 0;
  for (const e of entries) {
    header[p] = e.type === "data" ? 0 : 1;
    header[p + 1] = e.flags;
    header.writeUInt32LE(e.rawLength, p + 2);
    header.writeUInt32LE(e.length, p + 6);
    header.set(e.id, p + 10);
    p += PACK_ENTRY_LENGTH;
  }
  const sealed = seal(master.encKey, "pack-header", header, random);
  const out = Buffer.allocUnsafe(sealed.length + 4);
  out.set(sealed, 0);
  out.writeUInt32LE(sealed.length, sealed.length);
  return out;
}

/** Result of {@link readPackHeader}: the entries, or how many tail bytes to read instead. */
export type PackHeaderResult = { entries: PackEntry[]; type: BlobType } | { need: number };

/**
 * Reads the pack header from `tail`, the last `tail.length` bytes of a pack of `packSize`
 * bytes (or the whole pack). When `tail` is too short, returns `{ need }`: the number of
 * bytes from the end of the pack to read instead.
 * @throws CofferError CORRUPT `Cannot open pack 3fa1c2d4: header authentication failed`, or
 *   naming any inconsistency (sizes, mixed types).
 */
export function readPackHeader(
  master: MasterKey,
  tail: Uint8Array,
  packSize: number,
  packId = "?",
): PackHeaderResult {
  const what = `pack ${shortId(packId)}`;
  const fail = (why: string, cause?: unknown): never => {
    throw new CofferError(
      "CORRUPT",
      `Cannot open ${what}: ${why}`,
      cause === undefined ? undefined : { cause },
    );
  };
  if (tail.length > packSize) fail(`tail of ${tail.length} bytes exceeds pack size ${packSize}`);
  if (packSize < 4 + SEAL_OVERHEAD) fail(`too small (${packSize} bytes)`);
  if (tail.length < 4) return { need: 4 };
  const b = Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength);
  const hlen = b.readUInt32LE(b.length - 4);
  if (hlen < SEAL_OVERHEAD || hlen > packSize - 4 || hlen > MAX_HEADER)
    fail(`invalid header length ${hlen}`);
  if (hlen + 4 > tail.length) return { need: hlen + 4 };
  let plain: Buffer;
  try {
    plain = unseal(master.encKey, "pack-header", b.subarray(b.length - 4 - hlen, b.length - 4));
  } catch (err) {
    return fail("header authentication failed", err);
  }
  if (plain.length % PACK_ENTRY_LENGTH !== 0) fail("header length is not a multiple of 42");
  const entries: PackEntry[] = [];
  let offset = 0;
  let type: BlobType | undefined;
  for (let p = 0; p < plain.length; p += PACK_ENTRY_LENGTH) {
    const t = plain[p];
    if (t !== 0 && t !== 1) return fail(`blob ${entries.length} has unknown type ${String(t)}`);
    const bt: BlobType = t === 0 ? "data" : "tree";
    if (type !== undefined && bt !== type) fail("mixes data and tree blobs");
    type = bt;
    const flags = plain[p + 1]!;
    if ((flags & ~1) !== 0) fail(`blob ${entries.length} has unknown flags ${flags}`);
    const length = plain.readUInt32LE(p + 6);
    if (length < SEAL_OVERHEAD) fail(`blob ${entries.length} is shorter than a sealed message`);
    entries.push({
      id: Buffer.from(plain.subarray(p + 10, p + 42)),
      type: bt,
      flags,
      offset,
      length,
      rawLength: plain.readUInt32LE(p + 2),
    });
    offset += length;
  }
  if (offset + hlen + 4 !== packSize) {
    fail(`blobs cover ${offset} bytes but the pack holds ${packSize - hlen - 4}`);
  }
  return { entries, type: type ?? "data" };
}
