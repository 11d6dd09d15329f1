import { isCofferError } from "../../core/errors.ts";
import { decodeIndex, type IndexPack } from "../../format/index-file.ts";
import { mapLimit } from "../../core/parallel.ts";
import type { Repository } from "../repository/index.ts";

const CONCURRENCY = 8;

/**
 * The pack entries of index objects, each object fetched and decoded at most once per prune
 * run and shared by phase 2 (which indexes name a candidate) and phase 1 (usage accounting).
 * An index the prune writes itself is recorded with {@link put} instead of being read back.
 * Failures are not remembered: a later caller reads the object again and decides itself.
 */
export class PruneIndexes {
  readonly #repo: Repository;
  readonly #files = new Map<string, IndexPack[]>();
  /** Index objects that some decoded index supersedes. */
  readonly #superseded = new Set<string>();

  constructor(repo: Repository) {
    this.#repo = repo;
  }

  /**
   * The pack entries of index `id`, decoded once.
   * @throws CofferError from storage (NOT_FOUND when it vanished) or CORRUPT from decoding.
   */
  async get(id: string): Promise<IndexPack[]> {
    const known = this.#files.get(id);
    if (known !== undefined) return known;
    const file = decodeIndex(this.#repo.master, await this.#repo.storage.get(`index/${id}`), id);
    for (const s of file.supersedes) this.#superseded.add(s);
    this.#files.set(id, file.packs);
    return file.packs;
  }

  /** Decodes every ID of `ids` not decoded yet, 8 at a time (phase 2: unreadable ones are skipped). */
  async prefetch(ids: readonly string[]): Promise<void> {
    await mapLimit(ids, CONCURRENCY, (id) => this.get(id).catch(() => undefined));
  }

  /**
   * The index objects of `ids` that cannot be decoded (CORRUPT) and that no decoded index
   * supersedes, with why; decodes every one not decoded yet. A prune must not run past one:
   * packs only it names would look unindexed, hence garbage.
   * @throws CofferError from storage (other than NOT_FOUND).
   */
  async damaged(ids: readonly string[]): Promise<{ id: string; message: string }[]> {
    const out = await mapLimit(ids, CONCURRENCY, async (id) => {
      try {
        await this.get(id);
        return undefined;
      } catch (err) {
        if (isCofferError(err, "NOT_FOUND")) return undefined;
        if (!isCofferError(err, "CORRUPT")) throw err;
        return { id, message: err.message };
      }
    });
    return out.filter(
      (d): d is { id: string; message: string } => d !== undefined && !this.#superseded.has(d.id),
    );
  }

  /** The entries of `id` when decoded (or recorded) already. */
  known(id: string): IndexPack[] | undefined {
    return this.#files.get(id);
  }

  /** Records an index object this prune wrote (its entries are exactly `packs`). */
  put(id: string, packs: IndexPack[]): void {
    this.#files.set(id, packs);
  }

  /** Forgets index objects this prune deleted. */
  drop(ids: Iterable<string>): void {
    for (const id of ids) this.#files.delete(id);
  }

  /**
   * Every pack entry of the index objects `ids` (the live ones), decoding only those not
   * decoded yet; an index deleted meanwhile contributes nothing. Entries of other objects are
   * forgotten, so superseded indexes are not kept in memory.
   * @throws CofferError when an index cannot be read (other than NOT_FOUND) or decoded.
   */
  async live(ids: readonly string[]): Promise<IndexPack[]> {
    const keep = new Set(ids);
    for (const id of [...this.#files.keys()]) if (!keep.has(id)) this.#files.delete(id);
    const files = await mapLimit(ids, CONCURRENCY, async (id) => {
      try {
        return await this.get(id);
      } catch (err) {
        if (isCofferError(err, "NOT_FOUND")) return [];
        throw err;
      }
    });
    return files.flat();
  }
}
