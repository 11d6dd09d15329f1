import { CofferError } from "../../core/errors.ts";
import type { Snapshot } from "../../format/snapshot.ts";

/** The part of a repository that snapshot lookup needs. */
export interface SnapshotSource {
  listSnapshotIds(): Promise<string[]>;
  loadSnapshot(id: string): Promise<Snapshot>;
  /**
   * Decides about a snapshot that cannot be loaded while listing, when the caller gave no
   * `onError`: returning skips it (a damaged object, after a warning), throwing stops.
   */
  skipUnreadableSnapshot?(id: string, err: unknown): void;
}

/**
 * Which snapshots to consider. Every given criterion must hold.
 * - `host`: the snapshot's host equals it (an array: any of them).
 * - `tags`: groups OR'd together, tags within a group AND'ed (restic's `--tag a,b --tag c`
 *   is `[["a", "b"], ["c"]]`). A snapshot matches when it has every tag of some group.
 * - `paths`: the snapshot's paths include every one of them (trailing `/` ignored).
 */
export interface SnapshotFilter {
  host?: string | readonly string[];
  tags?: readonly (readonly string[])[];
  paths?: readonly string[];
}

/** A snapshot together with its ID. */
export interface FoundSnapshot {
  id: string;
  snapshot: Snapshot;
}

/** Options for {@link listSnapshots}. */
export interface ListSnapshotsOptions {
  /**
   * Called for a snapshot that cannot be loaded (corrupt, vanished); the snapshot is then
   * skipped. Without it the source's `skipUnreadableSnapshot` decides, else the error is
   * thrown.
   */
  onError?: (id: string, err: unknown) => void;
}

/** True when `snapshot` satisfies every criterion of `filter`. */
export function matchesFilter(snapshot: Snapshot, filter: SnapshotFilter = {}): boolean {
  if (filter.host !== undefined) {
    const hosts = typeof filter.host === "string" ? [filter.host] : filter.host;
    if (hosts.length > 0 && !hosts.includes(snapshot.host)) return false;
  }
  if (filter.tags !== undefined && filter.tags.length > 0) {
    const have = new Set(snapshot.tags);
    const groups = filter.tags.filter((g) => g.length > 0);
    if (groups.length > 0 && !groups.some((g) => g.every((t) => have.has(t)))) return false;
  }
  if (filter.paths !== undefined && filter.paths.length > 0) {
    const have = new Set(snapshot.paths.map(normalisePath));
    if (!filter.paths.every((p) => have.has(normalisePath(p)))) return false;
  }
  return true;
}

function normalisePath(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, "") : p;
}

/**
 * Nanoseconds since the epoch of an RFC 3339 time with up to 9 fractional digits, as a
 * bigint so that ordering keeps full precision. Unparseable times sort first.
 */
export function timeNs(time: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(time);
  if (m === null) return -(1n << 62n);
  const ms = Date.parse(`${m[1]!}${m[3]!}`);
  if (Number.isNaN(ms)) return -(1n << 62n);
  const frac = BigInt((m[2] ?? "").padEnd(9, "0"));
  return BigInt(ms) * 1_000_000n + frac;
}

/** Orders snapshots oldest first; equal times by ID so the order is total. */
export function compareSnapshots(a: FoundSnapshot, b: FoundSnapshot): number {
  const ta = timeNs(a.snapshot.time);
  const tb = timeNs(b.snapshot.time);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

const LOAD_CONCURRENCY = 8;

/**
 * Loads every snapshot matching `filter`, oldest first. A snapshot that cannot be loaded goes
 * to `o.onError`, else to the source's `skipUnreadableSnapshot` (a repository skips a
 * damaged one with a warning), else its error is thrown.
 */
export async function listSnapshots(
  repo: SnapshotSource,
  filter: SnapshotFilter = {},
  o: ListSnapshotsOptions = {},
): Promise<FoundSnapshot[]> {
  const ids = await repo.listSnapshotIds();
  const onError = o.onError ?? repo.skipUnreadableSnapshot?.bind(repo);
  const found: FoundSnapshot[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++]!;
      let snapshot: Snapshot;
      try {
        snapshot = await repo.loadSnapshot(id);
      } catch (err) {
        if (onError === undefined) throw err;
        onError(id, err);
        continue;
      }
      if (matchesFilter(snapshot, filter)) found.push({ id, snapshot });
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOAD_CONCURRENCY, ids.length) }, worker));
  return found.sort(compareSnapshots);
}

/**
 * Resolves a snapshot reference: `latest` (the newest snapshot matching `filter`),
 * `latest~N` (the one N before it, as in git: `latest~1` is the previous one) or a
 * unique prefix of a snapshot ID (the filter is not applied to explicit IDs).
 * @throws CofferError SNAPSHOT_NOT_FOUND `Cannot find snapshot 3fa1: no such snapshot`
 * @throws CofferError AMBIGUOUS_ID `Cannot find snapshot 3f: ambiguous ID (3fa1c2d4, 3fb0e911)`
 * @throws CofferError BAD_INPUT for a reference that is neither `latest` nor hex.
 */
export async function findSnapshot(
  repo: SnapshotSource,
  ref: string,
  filter: SnapshotFilter = {},
): Promise<FoundSnapshot> {
  const rel = /^latest(?:~(\d{1,6}))?$/.exec(ref);
  if (rel !== null) {
    const back = Number(rel[1] ?? "0");
    const all = await listSnapshots(repo, filter);
    const found = all.at(-1 - back);
    if (found === undefined) {
      const what =
        all.length === 0
          ? isEmptyFilter(filter)
            ? "no snapshots"
            : "no snapshot matches the filter"
          : `only ${String(all.length)} snapshot${all.length === 1 ? "" : "s"}${isEmptyFilter(filter) ? "" : " match the filter"}`;
      throw new CofferError("SNAPSHOT_NOT_FOUND", `Cannot find snapshot ${ref}: ${what}`);
    }
    return found;
  }
  const prefix = ref.toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(prefix)) {
    throw new CofferError(
      "BAD_INPUT",
      `Cannot find snapshot ${JSON.stringify(ref)}: expected "latest", "latest~N" or a hex snapshot ID`,
    );
  }
  const ids = (await repo.listSnapshotIds()).filter((id) => id.startsWith(prefix));
  const unique = [...new Set(ids)].sort();
  if (unique.length === 0) {
    throw new CofferError("SNAPSHOT_NOT_FOUND", `Cannot find snapshot ${ref}: no such snapshot`);
  }
  if (unique.length > 1) {
    const width = Math.max(8, prefix.length + 1);
    const shown = unique.slice(0, 10).map((id) => id.slice(0, width));
    const more = unique.length > 10 ? `, and ${unique.length - 10} more` : "";
    throw new CofferError(
      "AMBIGUOUS_ID",
      `Cannot find snapshot ${ref}: ambiguous ID (${shown.join(", ")}${more})`,
    );
  }
  const id = unique[0]!;
  return { id, snapshot: await repo.loadSnapshot(id) };
}

function isEmptyFilter(f: SnapshotFilter): boolean {
  const hostEmpty = f.host === undefined || (typeof f.host !== "string" && f.host.length === 0);
  return hostEmpty && (f.tags ?? []).length === 0 && (f.paths ?? []).length === 0;
}
