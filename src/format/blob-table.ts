import { CofferError } from "../core/errors.ts";
import type { BlobType } from "./blob.ts";

/** Where a blob lives. */
export interface BlobLocation {
  type: BlobType;
  /** Pack object ID (hex). */
  packId: string;
  /** Index of the pack in {@link BlobTable.packIds}. */
  packIndex: number;
  offset: number;
  length: number;
  rawLength: number;
  flags: number;
}

/** Structured-clone-able view of a {@link BlobTable} for worker threads (read-only there). */
export interface BlobTableHandle {
  count: number;
  capacity: number;
  slotCount: number;
  /** Shared backing stores: ids (32 B/entry), pack, offset, length, rawLength (u32), meta (u8), slots (u32). */
  buffers: SharedArrayBuffer[];
  packIds: string[];
}

const MAX_LOAD = 0.7;
const TREE_BIT = 0x80;

function u32(sab: SharedArrayBuffer): Uint32Array {
  return new Uint32Array(sab);
}

/**
 * The compact in-memory blob index: entries in dense typed arrays on SharedArrayBuffers
 * (32 B ID + 4×4 B location + 1 B type/flags = 49 B per blob) plus an open-addressing,
 * linear-probing slot table of u32 entry numbers (load ≤ 0.7), about 60-75 bytes per blob
 * in all. Lookup is O(1); the table grows by reallocating and rehashing. A blob is keyed by
 * (type, ID).
 *
 * {@link toShared} hands the backing stores to worker threads; {@link BlobTable.fromShared}
 * opens them read-only there. Entries are published with `Atomics.store`, so a worker sees a
 * consistent table: every entry added before `toShared()`, possibly some later ones.
 */
export class BlobTable {
  private count = 0;
  private capacity: number;
  private slotCount: number;
  private ids!: Uint8Array;
  private ids32!: Uint32Array;
  private packs!: Uint32Array;
  private offsets!: Uint32Array;
  private lengths!: Uint32Array;
  private rawLengths!: Uint32Array;
  private meta!: Uint8Array;
  private slots!: Uint32Array;
  private readonly packList: string[];
  private readonly packMap = new Map<string, number>();
  private readonly readOnly: boolean;
  private readonly key8 = new Uint8Array(32);
  private readonly key32 = new Uint32Array(this.key8.buffer);

  /** An empty table sized for about `expected` blobs. */
  constructor(expected = 1024) {
    this.capacity = Math.max(16, Math.ceil(expected));
    this.slotCount = slotsFor(this.capacity);
    this.packList = [];
    this.readOnly = false;
    this.alloc(this.capacity, this.slotCount);
  }

  /** Opens a handle from {@link toShared} (e.g. in a worker); the result is read-only. */
  static fromShared(h: BlobTableHandle): BlobTable {
    const t = Object.create(BlobTable.prototype) as BlobTable;
    const w = t as unknown as Record<string, unknown>;
    const [ids, packs, offsets, lengths, rawLengths, meta, slots] = h.buffers;
    if (
      ids === undefined ||
      packs === undefined ||
      offsets === undefined ||
      lengths === undefined ||
      rawLengths === undefined ||
      meta === undefined ||
      slots === undefined
    ) {
      throw new CofferError("BAD_INPUT", "Invalid blob table handle");
    }
    Object.assign(w, {
      count: h.count,
      capacity: h.capacity,
      slotCount: h.slotCount,
      ids: new Uint8Array(ids),
      ids32: u32(ids),
      packs: u32(packs),
      offsets: u32(offsets),
      lengths: u32(lengths),
      rawLengths: u32(rawLengths),
      meta: new Uint8Array(meta),
      slots: u32(slots),
      packList: h.packIds.slice(),
      packMap: new Map(h.packIds.map((p, i) => [p, i])),
      readOnly: true,
    });
    const key8 = new Uint8Array(32);
    Object.assign(w, { key8, key32: new Uint32Array(key8.buffer) });
    return t;
  }

  /** A handle to pass to worker threads (`postMessage`/`workerData`). */
  toShared(): BlobTableHandle {
    const bufs = [
      this.ids,
      this.packs,
      this.offsets,
      this.lengths,
      this.rawLengths,
      this.meta,
      this.slots,
    ].map((a) => a.buffer as SharedArrayBuffer);
    return {
      count: this.count,
      capacity: this.capacity,
      slotCount: this.slotCount,
      buffers: bufs,
      packIds: this.packList.slice(),
    };
  }

  /** Number of blobs. */
  get size(): number {
    return this.count;
  }

  /** Pack IDs by pack index. */
  get packIds(): readonly string[] {
    return this.packList;
  }

  /** Approximate bytes of the typed arrays. */
  get byteSize(): number {
    return this.capacity * 49 + this.slotCount * 4;
  }

  /** Index of a pack ID, registering it if new. */
  packIndex(packId: string): number {
    let i = this.packMap.get(packId);
    if (i === undefined) {
      this.writable();
      i = this.packList.length;
      this.packList.push(packId);
      this.packMap.set(packId, i);
    }
    return i;
  }

  /**
   * Records a blob; returns false (and keeps the first location) when (type, id) is
   * already present.
   */
  add(
    type: BlobType,
    id: Uint8Array | string,
    loc: { packId: string; offset: number; length: number; rawLength: number; flags: number },
  ): boolean {
    this.writable();
    if (this.find(type, id) >= 0) return false;
    if (this.count === this.capacity) this.grow(Math.ceil(this.capacity * 1.5));
    if (this.count + 1 > this.slotCount * MAX_LOAD) this.rehash(this.slotCount * 2);
    const e = this.count;
    this.ids.set(this.key8, e * 32);
    this.packs[e] = this.packIndex(loc.packId);
    this.offsets[e] = loc.offset;
    this.lengths[e] = loc.length;
    this.rawLengths[e] = loc.rawLength;
    this.meta[e] = (loc.flags & 0x7f) | (type === "tree" ? TREE_BIT : 0);
    this.count++;
    const mask = this.slotCount - 1;
    let s = this.key32[0]! & mask;
    while (Atomics.load(this.slots, s) !== 0) s = (s + 1) & mask;
    Atomics.store(this.slots, s, e + 1);
    return true;
  }

  /** True when a blob of `type` with `id` is known. */
  has(type: BlobType, id: Uint8Array | string): boolean {
    return this.find(type, id) >= 0;
  }

  /** The blob's location, or undefined. */
  get(type: BlobType, id: Uint8Array | string): BlobLocation | undefined {
    const e = this.find(type, id);
    return e < 0 ? undefined : this.location(e);
  }

  /** Every entry as `[type, id, location]` (ids are fresh Buffers). */
  *entries(): IterableIterator<[BlobType, Buffer, BlobLocation]> {
    for (let e = 0; e < this.count; e++) {
      const loc = this.location(e);
      yield [loc.type, Buffer.from(this.ids.subarray(e * 32, e * 32 + 32)), loc];
    }
  }

  private location(e: number): BlobLocation {
    const m = this.meta[e]!;
    const packIndex = this.packs[e]!;
    return {
      type: (m & TREE_BIT) !== 0 ? "tree" : "data",
      packId: this.packList[packIndex] ?? "",
      packIndex,
      offset: this.offsets[e]!,
      length: this.lengths[e]!,
      rawLength: this.rawLengths[e]!,
      flags: m & 0x7f,
    };
  }

  /** Entry number of (type, id), or -1; leaves the key in key8/key32. */
  private find(type: BlobType, id: Uint8Array | string): number {
    if (typeof id === "string") {
      if (id.length !== 64)
        throw new CofferError("BAD_INPUT", `Invalid blob ID ${id.slice(0, 16)}`);
      this.key8.set(Buffer.from(id, "hex"));
    } else {
      if (id.length !== 32) throw new CofferError("BAD_INPUT", "Invalid blob ID: need 32 bytes");
      this.key8.set(id);
    }
    const k = this.key32;
    const want = type === "tree" ? TREE_BIT : 0;
    const mask = this.slotCount - 1;
    const ids32 = this.ids32;
    let s = k[0]! & mask;
    for (;;) {
      const v = Atomics.load(this.slots, s);
      if (v === 0) return -1;
      const e = v - 1;
      const b = e * 8;
      if (
        ids32[b] === k[0] &&
        ids32[b + 1] === k[1] &&
        ids32[b + 2] === k[2] &&
        ids32[b + 3] === k[3] &&
        ids32[b + 4] === k[4] &&
        ids32[b + 5] === k[5] &&
        ids32[b + 6] === k[6] &&
        ids32[b + 7] === k[7] &&
        (this.meta[e]! & TREE_BIT) === want
      ) {
        return e;
      }
      s = (s + 1) & mask;
    }
  }

  private writable(): void {
    if (this.readOnly) throw new CofferError("BAD_INPUT", "Blob table is read-only in this thread");
  }

  private alloc(capacity: number, slotCount: number): void {
    const ids = new SharedArrayBuffer(capacity * 32);
    this.ids = new Uint8Array(ids);
    this.ids32 = u32(ids);
    this.packs = u32(new SharedArrayBuffer(capacity * 4));
    this.offsets = u32(new SharedArrayBuffer(capacity * 4));
    this.lengths = u32(new SharedArrayBuffer(capacity * 4));
    this.rawLengths = u32(new SharedArrayBuffer(capacity * 4));
    this.meta = new Uint8Array(new SharedArrayBuffer(capacity));
    this.slots = u32(new SharedArrayBuffer(slotCount * 4));
  }

  private grow(capacity: number): void {
    const old = {
      ids: this.ids,
      packs: this.packs,
      offsets: this.offsets,
      lengths: this.lengths,
      rawLengths: this.rawLengths,
      meta: this.meta,
      slots: this.slots,
    };
    const n = this.count;
    this.alloc(capacity, this.slotCount);
    this.capacity = capacity;
    this.ids.set(old.ids.subarray(0, n * 32));
    this.packs.set(old.packs.subarray(0, n));
    this.offsets.set(old.offsets.subarray(0, n));
    this.lengths.set(old.lengths.subarray(0, n));
    this.rawLengths.set(old.rawLengths.subarray(0, n));
    this.meta.set(old.meta.subarray(0, n));
    this.slots.set(old.slots);
  }

  private rehash(slotCount: number): void {
    const slots = u32(new SharedArrayBuffer(slotCount * 4));
    const mask = slotCount - 1;
    for (let e = 0; e < this.count; e++) {
      let s = this.ids32[e * 8]! & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = e + 1;
    }
    this.slots = slots;
    this.slotCount = slotCount;
  }
}

function slotsFor(capacity: number): number {
  let s = 16;
  while (s * MAX_LOAD < capacity) s *= 2;
  return s;
}
