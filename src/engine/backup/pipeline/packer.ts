import { type Hash, createHash } from "node:crypto";
import type { Random } from "../../../core/deps.ts";
import { CofferError } from "../../../core/errors.ts";
import type { BlobTable } from "../../../format/blob-table.ts";
import type { BlobType, EncodedBlob } from "../../../format/blob.ts";
import type { IndexPack } from "../../../format/index-file.ts";
import type { MasterKey } from "../../../format/keys.ts";
import { type PackEntry, packKey, packTrailer } from "../../../format/pack.ts";
import type { ObjectWriter, Storage } from "../../../storage/storage.ts";
import { openObjectWriter } from "./pack-writer.ts";

/** Counters a {@link Packer} keeps. */
export interface PackerStats {
  /** Blobs stored by this run. */
  blobs: number;
  /** Raw bytes of those blobs. */
  rawBytes: number;
  /** Sealed bytes of those blobs (pack headers excluded). */
  storedBytes: number;
  packs: number;
}

/** Blob bytes gathered before one `writev` to the open pack. */
const WRITE_BYTES = 1024 * 1024;
/** Packs committing (fsync + link) at once before written bytes stop releasing credit. */
const MAX_COMMITS = 8;

interface OpenPack {
  writer: Promise<{ writer: ObjectWriter; streaming: boolean }>;
  hash: Hash;
  entries: PackEntry[];
  members: { pack: string | undefined }[];
  /** Sealed blob bytes in the pack so far. */
  bytes: number;
  /** Blobs not yet handed to the writer. */
  parts: Uint8Array[];
  partBytes: number;
  writes: Promise<void>[];
  /** Written bytes whose credit waits for the commit (non-streaming writers). */
  held: number;
  /** Every sealed blob, kept for {@link Packer.onTreePackStored} (tree packs only). */
  kept?: Uint8Array[];
}

/**
 * Collects sealed blobs into data and tree packs and streams each pack to the storage as
 * its blobs arrive (`Storage.createWriter`, or a memory fallback), hashing it on the way;
 * a full pack gets its sealed header, is named by that hash and committed (fsync + link)
 * in the background while the next one fills. Remembers where every blob of this run went.
 * Duplicates (already in the repository index, or already added in this run) are dropped.
 * `onReleased(bytes)` fires when sealed bytes leave memory (dropped, or written to a
 * streaming writer; for the fallback: uploaded), which drives the workers' backpressure.
 */
export class Packer {
  readonly stats: PackerStats = { blobs: 0, rawBytes: 0, storedBytes: 0, packs: 0 };
  /** Pack entries of uploaded packs, for the index. */
  readonly indexPacks: IndexPack[] = [];
  /** Hex blob ID → pack ID (or undefined while its pack is still open), for this run. */
  readonly #placed = new Map<string, { pack: string | undefined }>();
  readonly #open: Record<BlobType, OpenPack | undefined> = { data: undefined, tree: undefined };
  readonly #uploads = new Set<Promise<void>>();
  /** Credit releases deferred while too many packs are committing. */
  #deferred: { bytes: number; type: BlobType }[] = [];
  #failure: unknown;
  /**
   * Called with each tree pack's ID and bytes once it is stored (the local cache writes it
   * through, ADR 0012); its errors are ignored. Unset: tree packs are not kept in memory.
   */
  onTreePackStored: ((id: string, bytes: Uint8Array) => Promise<unknown>) | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly master: MasterKey,
    private readonly random: Random,
    private readonly index: BlobTable,
    private readonly packSize: number,
    private readonly onReleased: (bytes: number, type: BlobType) => void = () => undefined,
  ) {}

  /** True when the blob is in the repository index or was added in this run. */
  known(type: BlobType, id: Uint8Array, hex?: string): boolean {
    return (
      this.#placed.has(type + (hex ?? Buffer.from(id).toString("hex"))) || this.index.has(type, id)
    );
  }

  /**
   * Pack ID holding a blob referenced by this run (repository index first, then this run's
   * packs). Undefined for a blob of this run whose pack is not yet finished.
   */
  packOf(type: BlobType, hex: string): string | undefined {
    const loc = this.index.get(type, hex);
    if (loc !== undefined) return loc.packId;
    return this.#placed.get(type + hex)?.pack;
  }

  /** Adds an encoded blob unless it is a duplicate; returns true when it was stored. */
  add(blob: EncodedBlob, hex = blob.id.toString("hex")): boolean {
    this.#throwIfFailed();
    const key = blob.type + hex;
    if (this.#placed.has(key) || this.index.has(blob.type, blob.id)) {
      this.onReleased(blob.sealed.length, blob.type);
      return false;
    }
    const pack = (this.#open[blob.type] ??= this.#fresh());
    const member = { pack: undefined as string | undefined };
    this.#placed.set(key, member);
    pack.entries.push({
      id: blob.id,
      type: blob.type,
      flags: blob.flags,
      offset: pack.bytes,
      length: blob.sealed.length,
      rawLength: blob.rawLength,
    });
    pack.members.push(member);
    pack.hash.update(blob.sealed);
    pack.parts.push(blob.sealed);
    if (blob.type === "tree" && this.onTreePackStored !== undefined)
      (pack.kept ??= []).push(blob.sealed);
    pack.partBytes += blob.sealed.length;
    pack.bytes += blob.sealed.length;
    this.stats.blobs++;
    this.stats.rawBytes += blob.rawLength;
    this.stats.storedBytes += blob.sealed.length;
    if (pack.bytes >= this.packSize) this.#finish(blob.type);
    else if (pack.partBytes >= WRITE_BYTES) this.#write(pack, blob.type, 0);
    return true;
  }

  #fresh(): OpenPack {
    const writer = openObjectWriter(this.storage);
    writer.catch((err: unknown) => {
      this.#failure ??= err;
    });
    return {
      writer,
      hash: createHash("sha256"),
      entries: [],
      members: [],
      bytes: 0,
      parts: [],
      partBytes: 0,
      writes: [],
      held: 0,
    };
  }

  /** Hands the gathered blobs (plus `extra` trailing bytes that carry no credit) to the writer. */
  #write(pack: OpenPack, type: BlobType, extra: number): void {
    const parts = pack.parts;
    const credit = pack.partBytes - extra;
    pack.parts = [];
    pack.partBytes = 0;
    pack.writes.push(
      pack.writer
        .then(async ({ writer, streaming }) => {
          await writer.write(parts);
          if (streaming) this.#release(credit, type);
          else pack.held += credit;
        })
        .catch((err: unknown) => {
          this.#failure ??= err;
          this.#release(credit, type);
        }),
    );
  }

  #release(bytes: number, type: BlobType): void {
    if (bytes === 0) return;
    if (this.#uploads.size >= MAX_COMMITS) this.#deferred.push({ bytes, type });
    else this.onReleased(bytes, type);
  }

  #finish(type: BlobType): void {
    const pack = this.#open[type];
    if (pack === undefined || pack.entries.length === 0) return;
    this.#open[type] = undefined;
    const trailer = packTrailer(pack.entries, this.master, this.random);
    pack.hash.update(trailer);
    const id = pack.hash.digest("hex");
    for (const m of pack.members) m.pack = id;
    pack.parts.push(trailer);
    pack.partBytes += trailer.length;
    this.#write(pack, type, trailer.length);
    this.stats.packs++;
    const size = pack.bytes + trailer.length;
    const p = (async () => {
      let streaming = true;
      try {
        await Promise.all(pack.writes);
        const w = await pack.writer;
        streaming = w.streaming;
        if (this.#failure !== undefined) {
          await w.writer.abort();
          return;
        }
        await w.writer.commit(packKey(id));
        if (pack.kept !== undefined)
          await this.onTreePackStored?.(id, Buffer.concat([...pack.kept, trailer])).catch(
            () => undefined,
          );
        this.indexPacks.push({
          id,
          type,
          size,
          blobs: pack.entries.map((e) => [
            e.id.toString("hex"),
            e.offset,
            e.length,
            e.rawLength,
            e.flags,
          ]),
        });
      } catch (err) {
        this.#failure ??= err;
      } finally {
        if (!streaming || this.#failure !== undefined) {
          this.onReleased(pack.held, type);
          pack.held = 0;
        }
      }
    })();
    this.#uploads.add(p);
    void p.finally(() => {
      this.#uploads.delete(p);
      for (const d of this.#deferred.splice(0)) this.onReleased(d.bytes, d.type);
    });
  }
  /** Number of packs currently uploading. */
  get uploading(): number {
    return this.#uploads.size;
  }

  /** Waits until at most `n` uploads are in flight. */
  async waitUploads(n: number): Promise<void> {
    while (this.#uploads.size > n) await Promise.race(this.#uploads);
    this.#throwIfFailed();
  }

  /** Finishes the open packs and waits for every upload; throws the first upload error. */
  async flush(): Promise<void> {
    this.#finish("data");
    this.#finish("tree");
    while (this.#uploads.size > 0) await Promise.all(this.#uploads);
    this.#throwIfFailed();
  }

  /**
   * Stops after a fatal error elsewhere: open packs are aborted (never committed), packs
   * already committing finish, nothing is thrown. Later {@link add} calls throw `reason`.
   */
  async abandon(reason: unknown): Promise<void> {
    this.#failure ??= reason;
    this.#finish("data");
    this.#finish("tree");
    while (this.#uploads.size > 0) await Promise.allSettled(this.#uploads);
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) {
      const f = this.#failure;
      throw f instanceof CofferError
        ? f
        : new CofferError(
            "IO",
            `Cannot upload pack: ${f instanceof Error ? f.message : "unknown error"}`,
            { cause: f },
          );
    }
  }
}
