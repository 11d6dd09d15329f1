import type { Clock, Random } from "../../core/deps.ts";
import { CofferError, isCofferError } from "../../core/errors.ts";
import { type BlobType, decodeBlob } from "../../format/blob.ts";
import { BlobTable, type BlobLocation } from "../../format/blob-table.ts";
import type { RepoConfig } from "../../format/config.ts";
import { shortId } from "../../format/ids.ts";
import type { MasterKey } from "../../format/keys.ts";
import { type Snapshot, decodeSnapshot, encodeSnapshot } from "../../format/snapshot.ts";
import { type TreeNode, decodeTree } from "../../format/tree.ts";
import type { Storage } from "../../storage/storage.ts";
import { type DamagedObject, type PackInfo, loadIndexFiles } from "./index-store.ts";
import { collect, mapLimit } from "../../core/parallel.ts";
import { DamageLog } from "./damage-log.ts";
import type { RepoCache } from "../cache/index.ts";
import {
  type InitOptions,
  type OpenOptions,
  type OpenedRepository,
  initRepository,
  openRepository,
  openRepositoryWithMasterKey,
} from "./open.ts";
import { getPack, readTreePack as readWholeTreePack, truncated } from "./packs.ts";

export type { RepoConfig } from "../../format/config.ts";
export type { InitOptions, OpenOptions } from "./open.ts";

export type { PackInfo } from "./index-store.ts";

/** How many objects are fetched at once when loading indexes and snapshots. */
const READ_CONCURRENCY = 8;

/**
 * An open repository: storage + master key + config, and once {@link loadIndex} ran, the
 * compact blob table. It only composes Storage I/O with the pure `format` code.
 */
export class Repository {
  /** Blob locations (filled by {@link loadIndex}); never packs that are unavailable. */
  index = new BlobTable();
  /** Blobs of unavailable (gateway GC, prune plans) or missing packs: never deduplicated. */
  held = new BlobTable();
  /** Every pack named by a loaded index. */
  readonly packs = new Map<string, PackInfo>();
  /** IDs of index objects loaded (superseded ones excluded). */
  indexIds: string[] = [];
  /** Local cache of index objects, snapshots, tree packs (ADR 0012); default none. */
  cache: RepoCache | undefined;
  /** Index objects skipped at the last {@link loadIndex} because they cannot be decoded. */
  damagedIndexes: DamagedObject[] = [];
  /** With `verifyPacks`: packs the loaded indexes name that storage does not hold. */
  missingPacks = new Set<string>();
  /** Damaged objects skipped (index objects, snapshots); the CLI prints its warnings. */
  readonly damage = new DamageLog();
  #indexLoaded = false;
  #packsVerified = false;

  private constructor(
    readonly storage: Storage,
    readonly config: RepoConfig,
    readonly master: MasterKey,
    /** ID of the key file that opened this repository. */
    readonly keyId: string,
    readonly random: Random,
    readonly clock: Clock,
  ) {}

  /** Repository ID (from config). */
  get id(): string {
    return this.config.id;
  }

  /** True once {@link loadIndex} has run. */
  get indexLoaded(): boolean {
    return this.#indexLoaded;
  }

  /**
   * Creates a repository: a fresh master key, its first key file (under `password`), then the
   * config (written last, so a crash leaves no half-initialised repository that opens).
   * @throws CofferError REPO_EXISTS when `config` already exists.
   */
  static async init(storage: Storage, password: string, o: InitOptions): Promise<Repository> {
    return Repository.#from(await initRepository(storage, password, o));
  }

  /**
   * Opens a repository with `password`, trying every key file.
   * @throws CofferError REPO_NOT_FOUND (no config at the location), WRONG_PASSWORD (no key
   *   file opens), CORRUPT (config MAC mismatch), UNSUPPORTED_VERSION.
   */
  static async open(storage: Storage, password: string, o: OpenOptions = {}): Promise<Repository> {
    return Repository.#from(await openRepository(storage, password, o));
  }

  /**
   * Opens the repository with a master key recovered from an escrow export (no password, no
   * key file). The config's MAC must verify under the key, and `repoId` (from the export) must
   * match the config, so a key for another repository is refused with one line.
   */
  static async openWithMasterKey(
    storage: Storage,
    master: MasterKey,
    repoId: string,
    o: OpenOptions = {},
  ): Promise<Repository> {
    return Repository.#from(await openRepositoryWithMasterKey(storage, master, repoId, o));
  }

  static #from(r: OpenedRepository): Repository {
    return new Repository(r.storage, r.config, r.master, r.keyId, r.random, r.clock);
  }

  /**
   * Loads every index object (in parallel), drops those superseded by another, and builds the
   * blob table. Replaces any previously loaded table. Cached tree packs the index no longer
   * names leave the cache. A damaged index object is skipped with a warning (see
   * {@link damagedIndexes}); with `verifyPacks` (writers), blobs of packs missing from
   * storage are kept out of the deduplication table (ADR 0013).
   */
  async loadIndex(o: { verifyPacks?: boolean } = {}): Promise<void> {
    const loaded = await loadIndexFiles(
      this.storage,
      this.master,
      READ_CONCURRENCY,
      this.cache?.index,
      o,
    );
    const { table, packs, indexIds, held } = loaded;
    this.damagedIndexes = loaded.damaged;
    this.missingPacks = loaded.missing;
    this.#packsVerified = o.verifyPacks === true;
    for (const d of loaded.damaged) this.damage.damagedIndex(d.id, d.message);
    this.index = table;
    this.held = held;
    this.packs.clear();
    for (const p of packs) this.packs.set(p.id, p);
    this.indexIds = indexIds;
    this.#indexLoaded = true;
    await this.cache?.packs.retain(
      new Set(packs.filter((p) => p.type === "tree").map((p) => p.id)),
    );
  }

  /**
   * Loads the index unless already loaded. With `verifyPacks` (every backup), `data/` is
   * listed each time, and the index loaded again when a pack it names is gone since.
   */
  async ensureIndex(o: { verifyPacks?: boolean } = {}): Promise<void> {
    if (!this.#indexLoaded || (o.verifyPacks === true && !this.#packsVerified))
      return this.loadIndex(o);
    if (o.verifyPacks !== true) return;
    const stored = new Set((await this.listPackObjects()).map((p) => p.id));
    for (const id of this.packs.keys())
      if (!stored.has(id) && !this.missingPacks.has(id)) return this.loadIndex(o);
  }

  /** See {@link DamageLog.skipUnreadableSnapshot} (snapshot listings skip damaged ones). */
  skipUnreadableSnapshot(id: string, err: unknown): void {
    this.damage.skipUnreadableSnapshot(id, err);
  }

  /** Where a blob lives, or undefined when no index names it. */
  locate(type: BlobType, id: string | Uint8Array): BlobLocation | undefined {
    return this.index.get(type, id) ?? this.held.get(type, id);
  }

  /**
   * Reads one blob (a range GET in its pack), decrypts, decompresses and verifies its ID.
   * With a {@link cache}, a tree blob is read from the cached tree pack, which is fetched
   * whole and cached the first time; a cached pack whose blob fails its checks is dropped
   * and fetched again.
   * @throws CofferError CORRUPT (not indexed, authentication, ID mismatch), NOT_FOUND (pack
   *   missing).
   */
  async loadBlob(type: BlobType, id: string): Promise<Uint8Array> {
    await this.ensureIndex();
    const loc = this.locate(type, id);
    if (loc === undefined)
      throw new CofferError("CORRUPT", `Cannot load ${type} blob ${shortId(id)}: not in any index`);
    const decode = (sealed: Uint8Array): Uint8Array =>
      decodeBlob(this.master, type, sealed, loc.flags, id, loc.rawLength);
    const packs = type === "tree" ? this.cache?.packs : undefined;
    if (packs !== undefined) {
      const cached = await packs.read(loc.packId, loc.offset, loc.length);
      if (cached !== undefined) {
        try {
          return decode(cached);
        } catch {
          await packs.drop(loc.packId);
        }
      }
      const size = this.packs.get(loc.packId)?.size;
      if (size !== undefined && size <= packs.maxBytes && (await packs.usable())) {
        const whole = await this.readTreePack(loc.packId, `${type} blob ${shortId(id)}`);
        if (loc.offset + loc.length > whole.length) throw truncated(type, id, loc.packId);
        return decode(whole.subarray(loc.offset, loc.offset + loc.length));
      }
    }
    const sealed = await getPack(this.storage, loc.packId, `${type} blob ${shortId(id)}`, {
      offset: loc.offset,
      length: loc.length,
    });
    if (sealed.length !== loc.length) throw truncated(type, id, loc.packId);
    return decode(sealed);
  }

  /**
   * The whole tree pack `packId`: from the {@link cache} when there, else fetched (and
   * cached when it hashes to its ID). Cached bytes are not hashed: callers decode blobs,
   * which authenticates them. `what` names the reader in errors.
   * @throws CofferError NOT_FOUND (pack missing), storage errors.
   */
  async readTreePack(packId: string, what = `tree pack ${shortId(packId)}`): Promise<Uint8Array> {
    return readWholeTreePack(this.storage, this.cache?.packs, packId, what);
  }

  /** Loads and decodes a tree blob. */
  async loadTree(id: string): Promise<TreeNode[]> {
    return decodeTree(await this.loadBlob("tree", id), id);
  }

  /**
   * Loads, authenticates and decodes a snapshot (from the {@link cache} when there; a
   * fetched snapshot is cached once it decoded). SNAPSHOT_NOT_FOUND when missing.
   */
  async loadSnapshot(id: string): Promise<Snapshot> {
    const cache = this.cache?.snapshots;
    const cached = await cache?.get(id);
    if (cached !== undefined) return decodeSnapshot(this.master, cached, id);
    let bytes: Uint8Array;
    try {
      bytes = await this.storage.get(`snapshots/${id}`);
    } catch (err) {
      if (isCofferError(err, "NOT_FOUND")) {
        throw new CofferError(
          "SNAPSHOT_NOT_FOUND",
          `Cannot load snapshot ${shortId(id)}: not found`,
          { cause: err },
        );
      }
      throw err;
    }
    const snapshot = decodeSnapshot(this.master, bytes, id);
    await cache?.put(id, bytes);
    return snapshot;
  }

  /** Seals and stores a snapshot (and caches it); returns its ID (the object ID). */
  async saveSnapshot(snapshot: Snapshot): Promise<string> {
    const { id, bytes } = encodeSnapshot(this.master, snapshot, this.random);
    await this.storage.putIfAbsent(`snapshots/${id}`, bytes);
    await this.cache?.snapshots.put(id, bytes);
    return id;
  }

  /**
   * IDs of every snapshot object, sorted. Cached snapshots no longer listed (forgotten) leave
   * the cache.
   */
  async listSnapshotIds(): Promise<string[]> {
    const ids = (await collect(this.storage.list("snapshots/")))
      .map((o) => o.key.slice("snapshots/".length))
      .sort();
    await this.cache?.snapshots.retain(new Set(ids));
    return ids;
  }

  /**
   * Every snapshot with its ID (loaded in parallel); unreadable ones go to `onError`, by
   * default {@link skipUnreadableSnapshot}.
   */
  async loadSnapshots(
    onError = (id: string, err: unknown): void => {
      this.skipUnreadableSnapshot(id, err);
    },
  ): Promise<{ id: string; snapshot: Snapshot }[]> {
    const ids = await this.listSnapshotIds();
    const out = await mapLimit(ids, READ_CONCURRENCY, async (id) => {
      try {
        return { id, snapshot: await this.loadSnapshot(id) };
      } catch (err) {
        onError(id, err);
        return undefined;
      }
    });
    return out.filter((x): x is { id: string; snapshot: Snapshot } => x !== undefined);
  }

  /** IDs of every index object in storage, sorted. */
  async listIndexIds(): Promise<string[]> {
    return (await collect(this.storage.list("index/")))
      .map((o) => o.key.slice("index/".length))
      .sort();
  }

  /** Every pack object in storage (`data/`), with sizes. */
  async listPackObjects(): Promise<{ id: string; size: number }[]> {
    return (await collect(this.storage.list("data/"))).map((o) => ({
      id: o.key.slice(o.key.lastIndexOf("/") + 1),
      size: o.size,
    }));
  }
}
