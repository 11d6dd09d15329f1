import type { Random } from "../../core/deps.ts";
import { CofferError, isCofferError } from "../../core/errors.ts";
import type { BlobType } from "../../format/blob.ts";
import { BlobTable } from "../../format/blob-table.ts";
import { type IndexFile, type IndexPack, decodeIndex, encodeIndex } from "../../format/index-file.ts";
import { shortId } from "../../format/ids.ts";
import type { MasterKey } from "../../format/keys.ts";
import type { Storage } from "../../storage/storage.ts";
import type { ObjectCache } from "../cache/index.ts";
import { collect, mapLimit } from "../../core/parallel.ts";

/** Information about one pack, from the index. */
export interface PackInfo {
  id: string;
  type: BlobType;
  size: number;
}

/** Result of {@link loadIndexFiles}. */
export interface LoadedIndex {
  table: BlobTable;
  packs: PackInfo[];
  /** Index objects that contributed (not superseded), sorted. */
  indexIds: string[];
  /**
   * Blobs of unavailable packs (see {@link unavailablePacks}): readable for restore, never
   * used for deduplication (they are not in `table`).
   */
  held: BlobTable;
  /** The unavailable pack IDs that were met. */
  unavailable: Set<string>;
  /**
   * Index objects that cannot be decoded (CORRUPT) and that no readable index supersedes:
   * skipped, so the rest of the repository stays usable (`coffer repair index` rebuilds them).
   */
  damaged: DamagedObject[];
  /** With {@link LoadIndexOptions.verifyPacks}: indexed packs that storage does not hold. */
  missing: Set<string>;
}

/** An object that was skipped because it cannot be decoded, and why. */
export interface DamagedObject {
  id: string;
  message: string;
}

/** Options of {@link loadIndexFiles}. */
export interface LoadIndexOptions {
  /**
   * List `data/` once the indexes are read: an indexed pack that storage does not hold is
   * `missing`, and its blobs go to `held` (read attempts name the missing pack) instead of
   * the deduplication table, so a backup writes their data again (ADR 0013).
   */
  verifyPacks?: boolean;
}

/** Gateway object listing packs pending GC or destroyed (docs/format.md, "Gateway objects"). */
export const UNAVAILABLE_PACKS_KEY = "gateway/unavailable-packs.json";
/** Prefix of prune plans (client-managed repositories, docs/format.md §9). */
export const PRUNE_PLAN_PREFIX = "prune/";

async function readJson(storage: Storage, key: string): Promise<unknown> {
  try {
    return JSON.parse(Buffer.from(await storage.get(key)).toString("utf8")) as unknown;
  } catch (err) {
    if (isCofferError(err, "NOT_FOUND") || err instanceof SyntaxError) return undefined;
    if (isCofferError(err) && /\b(403|AccessDenied)\b/.test(err.message)) return undefined;
    throw err;
  }
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/**
 * The gateway's `gateway/unavailable-packs.json` lists: `pending` (PENDING(gc)) and `gone`
 * (destroyed). Both empty for plain S3 and local repositories (the object is absent) and
 * where reading it is refused.
 */
export async function gatewayPackLists(
  storage: Storage,
): Promise<{ pending: string[]; gone: string[] }> {
  const gw = await readJson(storage, UNAVAILABLE_PACKS_KEY);
  if (typeof gw !== "object" || gw === null) return { pending: [], gone: [] };
  const g = gw as { pending?: unknown; gone?: unknown };
  return { pending: stringList(g.pending), gone: stringList(g.gone) };
}

/**
 * Packs no new snapshot may reference: those the gateway lists in
 * `gateway/unavailable-packs.json` (pending GC or destroyed) and the candidates of every
 * prune plan `prune/<id>.json` (about to be deleted). A new snapshot that needs one of their
 * blobs writes it again instead of deduplicating.
 */
export async function unavailablePacks(storage: Storage): Promise<Set<string>> {
  const gw = await gatewayPackLists(storage);
  const out = new Set([...gw.pending, ...gw.gone]);
  let plans: string[] = [];
  try {
    plans = (await collect(storage.list(PRUNE_PLAN_PREFIX))).map((o) => o.key);
  } catch (err) {
    if (!isCofferError(err, "NOT_FOUND")) throw err;
  }
  for (const key of plans) {
    const plan = await readJson(storage, key);
    if (typeof plan !== "object" || plan === null) continue;
    for (const c of ((plan as { candidates?: unknown }).candidates as
      { id?: unknown }[] | undefined) ?? []) {
      if (typeof c.id === "string") out.add(c.id);
    }
  }
  return out;
}

/**
 * Reads every `index/` object (`concurrency` at a time), ignores those listed in another's
 * `supersedes`, and builds a {@link BlobTable}. Indexes are applied in ID order and the first
 * location of a blob wins, so every process builds the same table from the same objects.
 * An index that vanished between list and get (deleted after being superseded) is skipped;
 * so is one that cannot be decoded (CORRUPT), which is reported in `damaged` unless a
 * readable index supersedes it. With a `cache`, only index objects not cached yet are
 * fetched (and then cached once they decoded), and cached ones no longer listed are dropped
 * from it.
 */
export async function loadIndexFiles(
  storage: Storage,
  master: MasterKey,
  concurrency: number,
  cache?: ObjectCache,
  o: LoadIndexOptions = {},
): Promise<LoadedIndex> {
  const ids = (await collect(storage.list("index/")))
    .map((o) => o.key.slice("index/".length))
    .sort();
  const unavailable = await unavailablePacks(storage);
  const errors = new Map<string, string>();
  const files = await mapLimit(ids, concurrency, async (id): Promise<IndexFile | undefined> => {
    const cached = await cache?.get(id);
    if (cached !== undefined) return decodeIndex(master, cached, id);
    let bytes: Uint8Array;
    try {
      bytes = await storage.get(`index/${id}`);
    } catch (err) {
      if (isCofferError(err, "NOT_FOUND")) return undefined;
      throw err;
    }
    let file: IndexFile;
    try {
      file = decodeIndex(master, bytes, id);
    } catch (err) {
      if (!isCofferError(err, "CORRUPT")) throw err;
      errors.set(id, err.message);
      return undefined;
    }
    await cache?.put(id, bytes);
    return file;
  });
  await cache?.retain(new Set(ids));
  const superseded = new Set<string>();
  for (const f of files) for (const s of f?.supersedes ?? []) superseded.add(s);
  const damaged = [...errors]
    .filter(([id]) => !superseded.has(id))
    .map(([id, message]) => ({ id, message }));
  // Packs are listed after the indexes were read: an index names only packs written before
  // it, so a pack of a concurrent backup is never taken for a missing one.
  const stored =
    o.verifyPacks === true
      ? new Set(
          (await collect(storage.list("data/"))).map((x) =>
            x.key.slice(x.key.lastIndexOf("/") + 1),
          ),
        )
      : undefined;
  let blobCount = 0;
  for (const f of files) for (const p of f?.packs ?? []) blobCount += p.blobs.length;
  const table = new BlobTable(Math.max(1024, blobCount));
  const held = new BlobTable(1024);
  const met = new Set<string>();
  const missing = new Set<string>();
  const packs = new Map<string, PackInfo>();
  const used: string[] = [];
  ids.forEach((id, i) => {
    const f = files[i];
    if (f === undefined || superseded.has(id)) return;
    used.push(id);
    for (const p of f.packs) {
      if (stored !== undefined && !stored.has(p.id)) {
        missing.add(p.id);
        addPack(held, p);
      } else if (unavailable.has(p.id)) {
        met.add(p.id);
        addPack(held, p);
      } else addPack(table, p);
    }
    for (const p of f.packs)
      if (!packs.has(p.id)) packs.set(p.id, { id: p.id, type: p.type, size: p.size });
  });
  return {
    table,
    packs: [...packs.values()],
    indexIds: used,
    held,
    unavailable: met,
    damaged,
    missing,
  };
}

/** Adds every blob of an index pack entry to `table`. */
export function addPack(table: BlobTable, p: IndexPack): void {
  for (const [id, offset, length, rawLength, flags] of p.blobs) {
    table.add(p.type, id, { packId: p.id, offset, length, rawLength, flags });
  }
}

/**
 * Writes an index object naming `packs` (after those packs are stored). Returns its ID.
 * @throws CofferError from storage (the packs stay as unreferenced garbage).
 */
export async function saveIndex(
  storage: Storage,
  master: MasterKey,
  random: Random,
  packs: IndexPack[],
  supersedes: string[] = [],
): Promise<string> {
  const { id, bytes } = encodeIndex(master, { v: 1, packs, supersedes }, random);
  try {
    await storage.putIfAbsent(`index/${id}`, bytes);
  } catch (err) {
    throw new CofferError(
      isCofferError(err) ? err.code : "IO",
      `Cannot save index ${shortId(id)}: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
  return id;
}
