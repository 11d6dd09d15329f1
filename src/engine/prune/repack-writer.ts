import { type Hash, createHash } from "node:crypto";
import type { Random } from "../../core/deps.ts";
import type { MasterKey } from "../../format/keys.ts";
import type { BlobType } from "../../format/blob.ts";
import type { IndexPack } from "../../format/index-file.ts";
import { type PackEntry, packKey, packTrailer } from "../../format/pack.ts";
import type { ObjectWriter, Storage } from "../../storage/storage.ts";

/** Headroom of the in-memory buffer beyond the pack size (the last blob and the header). */
const SLACK = 1 << 20;

/**
 * One new pack of a repack, written as its blobs arrive so that the source packs they come
 * from can be dropped at once. With a streaming backend (`Storage.createWriter`, e.g. a
 * local directory) the blobs go to a temp object and only the header stays in memory; other
 * backends get the blobs copied into one growing buffer that is stored with a single
 * `putIfAbsent` (one pack in memory, no concatenation at the end). The pack is named by the
 * SHA-256 of its bytes, hashed on the way. Nothing is visible before {@link commit}; after a
 * failure the caller must {@link abort}.
 */
export class RepackWriter {
  readonly #storage: Storage;
  readonly #writer: ObjectWriter | undefined;
  readonly #hash: Hash = createHash("sha256");
  readonly #entries: PackEntry[] = [];
  /** Streaming: blobs not handed to the writer yet (views into a source pack). */
  #batch: Uint8Array[] = [];
  /** Not streaming: the pack so far, `#bytes` of it used. */
  #buf: Buffer | undefined;
  #bytes = 0;

  readonly #capacity: number;

  private constructor(
    readonly type: BlobType,
    storage: Storage,
    writer: ObjectWriter | undefined,
    capacity: number,
  ) {
    this.#storage = storage;
    this.#writer = writer;
    this.#capacity = capacity;
  }

  /**
   * Starts a pack of `type` blobs on `storage` (a temp object when it can stream).
   * `expected` is about how many blob bytes it will get (sizes the buffer of a non-streaming
   * backend; more still fits).
   */
  static async open(storage: Storage, type: BlobType, expected: number): Promise<RepackWriter> {
    const writer = storage.createWriter !== undefined ? await storage.createWriter() : undefined;
    return new RepackWriter(type, storage, writer, expected + SLACK);
  }

  /** Bytes of blobs added so far. */
  get size(): number {
    return this.#bytes;
  }

  /** Number of blobs added. */
  get count(): number {
    return this.#entries.length;
  }

  /**
   * Appends a sealed blob (copied as is). A streaming pack keeps a view of `sealed` until the
   * next {@link drain}, so the caller must not reuse its buffer before then.
   */
  add(id: string, sealed: Uint8Array, rawLength: number, flags: number): void {
    this.#entries.push({
      id: Buffer.from(id, "hex"),
      type: this.type,
      flags,
      offset: this.#bytes,
      length: sealed.length,
      rawLength,
    });
    this.#hash.update(sealed);
    if (this.#writer !== undefined) this.#batch.push(sealed);
    else this.#copy(sealed);
    this.#bytes += sealed.length;
  }

  /** Hands the blobs added since the last call to the backend; then their source may go. */
  async drain(): Promise<void> {
    if (this.#writer === undefined || this.#batch.length === 0) return;
    const parts = this.#batch;
    this.#batch = [];
    await this.#writer.write(parts);
  }

  /** Seals the header, stores the pack under its ID and returns its index entry. */
  async commit(master: MasterKey, random: Random): Promise<IndexPack> {
    const trailer = packTrailer(this.#entries, master, random);
    this.#hash.update(trailer);
    const id = this.#hash.digest("hex");
    if (this.#writer !== undefined) {
      this.#batch.push(trailer);
      await this.drain();
      await this.#writer.commit(packKey(id));
    } else {
      const end = this.#bytes;
      this.#copy(trailer);
      const body = (this.#buf as Buffer).subarray(0, end + trailer.length);
      this.#buf = undefined;
      await this.#storage.putIfAbsent(packKey(id), body);
    }
    return {
      id,
      type: this.type,
      size: this.#bytes + trailer.length,
      blobs: this.#entries.map((e) => [
        e.id.toString("hex"),
        e.offset,
        e.length,
        e.rawLength,
        e.flags,
      ]),
    };
  }

  /** Drops the pack: the temp object is removed, nothing is stored. */
  async abort(): Promise<void> {
    this.#batch = [];
    this.#buf = undefined;
    await this.#writer?.abort();
  }

  /** Copies `bytes` after the used part of the buffer (not streaming), growing it if needed. */
  #copy(bytes: Uint8Array): void {
    const used = this.#buf === undefined ? 0 : this.#bytes;
    const need = used + bytes.length;
    if (this.#buf === undefined || need > this.#buf.length) {
      const size = Math.max(
        need + SLACK,
        this.#buf === undefined ? this.#capacity : this.#buf.length * 2,
      );
      const grown = Buffer.allocUnsafe(size);
      if (this.#buf !== undefined) this.#buf.copy(grown, 0, 0, used);
      this.#buf = grown;
    }
    this.#buf.set(bytes, used);
  }
}
