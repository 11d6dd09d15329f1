import type { Random } from "../../core/deps.ts";
import { CofferError } from "../../core/errors.ts";
import type { BlobTable } from "../../format/blob-table.ts";
import type { BlobType, EncodedBlob } from "../../format/blob.ts";
import type { IndexPack } from "../../format/index-file.ts";
import type { MasterKey } from "../../format/keys.ts";
import { PackBuilder, packKey } from "../../format/pack.ts";
import type { Storage } from "../../storage/storage.ts";

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

/**
 * Collects sealed blobs into data and tree packs, uploads full packs concurrently, and
 * remembers where every blob of this run went. Duplicates (already in the repository
 * index, or already added in this run) are dropped. `onReleased(bytes)` fires when sealed
 * bytes leave memory (dropped or uploaded), which drives the workers' backpressure.
 */
export class Packer {
  readonly stats: PackerStats = { blobs: 0, rawBytes: 0, storedBytes: 0, packs: 0 };
  /** Pack entries of uploaded packs, for the index. */
  readonly indexPacks: IndexPack[] = [];
  /** Hex blob ID → pack ID (or undefined while its pack is still open), for this run. */
  readonly #placed = new Map<string, { pack: string | undefined }>();
  readonly #builders: Record<
    BlobType,
    { builder: PackBuilder; members: { pack: string | undefined }[]; sealedBytes: number }
  >;
  readonly #uploads = new Set<Promise<void>>();
  #failure: unknown;

  constructor(
    private readonly storage: Storage,
    private readonly master: MasterKey,
    private readonly random: Random,
    private readonly index: BlobTable,
    private readonly packSize: number,
    private readonly onReleased: (bytes: number, type: BlobType) => void = () => undefined,
  ) {
    this.#builders = { data: this.#fresh("data"), tree: this.#fresh("tree") };
  }

  #fresh(type: BlobType): {
    builder: PackBuilder;
    members: { pack: string | undefined }[];
    sealedBytes: number;
  } {
    return { builder: new PackBuilder(type), members: [], sealedBytes: 0 };
  }

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
    const b = this.#builders[blob.type];
    const member = { pack: undefined as string | undefined };
    this.#placed.set(key, member);
    b.builder.add(blob);
    b.members.push(member);
    b.sealedBytes += blob.sealed.length;
    this.stats.blobs++;
    this.stats.rawBytes += blob.rawLength;
    this.stats.storedBytes += blob.sealed.length;
    if (b.builder.size >= this.packSize) this.#finish(blob.type);
    return true;
  }

  #finish(type: BlobType): void {
    const b = this.#builders[type];
    if (b.builder.count === 0) return;
    this.#builders[type] = this.#fresh(type);
    const pack = b.builder.finish(this.master, this.random);
    for (const m of b.members) m.pack = pack.id;
    this.stats.packs++;
    const p = (async () => {
      try {
        await this.storage.putIfAbsent(packKey(pack.id), pack.bytes);
        this.indexPacks.push({
          id: pack.id,
          type,
          size: pack.bytes.length,
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
        this.onReleased(b.sealedBytes, type);
      }
    })();
    this.#uploads.add(p);
    void p.finally(() => this.#uploads.delete(p));
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
    await Promise.all(this.#uploads);
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) {
      const f = this.#failure;
      throw f instanceof CofferError
        ? f
        : new CofferError("IO", `Cannot upload pack: ${String(f)}`, { cause: f });
    }
  }
}
