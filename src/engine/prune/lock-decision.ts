import { CofferError } from "../../core/errors.ts";

/** Where prune locks live (restic's prefix; a coffer gateway deletes it at once). */
export const LOCK_PREFIX = "locks/";
/** A held lock is rewritten this often (restic's 5 minutes). */
export const LOCK_REFRESH_MS = 5 * 60_000;
/** A lock not refreshed for this long is stale (restic's 30 minutes). */
export const LOCK_STALE_MS = 30 * 60_000;

/**
 * A prune lock object `locks/prune-<time>-<rand>.json` (plaintext, docs/format.md "Locks").
 * `acquiring` while its writer decides whether it may proceed, `held` once it does.
 */
export interface LockInfo {
  v: 1;
  kind: "prune";
  state: "acquiring" | "held";
  host: string;
  pid: number;
  username: string;
  /** RFC 3339 (ms): when the prune started; kept across refreshes. */
  createdAt: string;
  /** RFC 3339 (ms): when this object was written. */
  refreshedAt: string;
}

/** A lock object and its key. */
export interface LockEntry {
  key: string;
  info: LockInfo;
}

/** `false` when the lock's holder is known to be dead (same host, no such process). */
export type HolderAlive = (entry: LockEntry) => boolean;

/** What a prune does after reading `locks/`. */
export type LockDecision =
  | { action: "proceed" }
  /** Another prune holds, or wins the tie-break: remove our lock and refuse. */
  | { action: "refuse"; holder: LockEntry }
  /** Later prunes are still deciding: wait until they give up or one of them holds. */
  | { action: "wait"; on: LockEntry[] };

/** Parameters of {@link decideLock} and {@link isStale}. */
export interface LockClock {
  now: number;
  staleMs?: number;
  alive: HolderAlive;
}

/** The JSON bytes of a lock object. */
export function encodeLock(info: LockInfo): Uint8Array {
  return Buffer.from(JSON.stringify(info) + "\n");
}

/** Parses a lock object; throws CORRUPT (one line) when it is not a v1 prune lock. */
export function decodeLock(key: string, bytes: Uint8Array): LockInfo {
  let doc: Partial<LockInfo>;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString("utf8")) as Partial<LockInfo>;
  } catch {
    throw new CofferError("CORRUPT", `Cannot read lock ${key}: not JSON`);
  }
  if (
    doc.v !== 1 ||
    doc.kind !== "prune" ||
    (doc.state !== "acquiring" && doc.state !== "held") ||
    typeof doc.host !== "string" ||
    typeof doc.pid !== "number" ||
    typeof doc.username !== "string" ||
    typeof doc.createdAt !== "string" ||
    Number.isNaN(Date.parse(doc.createdAt)) ||
    typeof doc.refreshedAt !== "string" ||
    Number.isNaN(Date.parse(doc.refreshedAt))
  ) {
    throw new CofferError("CORRUPT", `Cannot read lock ${key}: not a v1 prune lock`);
  }
  return {
    v: 1,
    kind: "prune",
    state: doc.state,
    host: doc.host,
    pid: doc.pid,
    username: doc.username,
    createdAt: doc.createdAt,
    refreshedAt: doc.refreshedAt,
  };
}

/** The key of a lock object written at `time` (ms) with random `suffix` (hex). */
export function lockKey(time: number, suffix: string): string {
  const stamp = new Date(time)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${LOCK_PREFIX}prune-${stamp}-${suffix}.json`;
}

/**
 * True when nobody holds `e` any more: not refreshed for `staleMs` (default 30 minutes), or its
 * holder is known dead (`alive` returns false: same host, no such process).
 */
export function isStale(e: LockEntry, c: LockClock): boolean {
  return c.now - Date.parse(e.info.refreshedAt) >= (c.staleMs ?? LOCK_STALE_MS) || !c.alive(e);
}

/** Orders locks: older `createdAt` first, then the smaller key. */
export function compareLocks(a: LockEntry, b: LockEntry): number {
  const d = Date.parse(a.info.createdAt) - Date.parse(b.info.createdAt);
  if (d !== 0) return d;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Decides, from the locks listed after writing `own` (state `acquiring`), whether this prune
 * may proceed. Stale locks are ignored. A `held` lock always wins. Among deciding
 * (`acquiring`) locks the one first by {@link compareLocks} wins; it must still wait for the
 * later ones to give up, since one of them may have listed before `own` was written and so
 * proceed (then it turns `held`, and `own` refuses). Later locks never wait, so no two prunes
 * wait on each other, and two prunes never both proceed whatever their clocks say.
 */
export function decideLock(own: LockEntry, seen: readonly LockEntry[], c: LockClock): LockDecision {
  const others = seen.filter((e) => e.key !== own.key && !isStale(e, c)).sort(compareLocks);
  const held = others.find((e) => e.info.state === "held");
  if (held !== undefined) return { action: "refuse", holder: held };
  const first = others[0];
  if (first !== undefined && compareLocks(first, own) < 0)
    return { action: "refuse", holder: first };
  if (others.length > 0) return { action: "wait", on: others };
  return { action: "proceed" };
}

function second(iso: string): string {
  return new Date(Date.parse(iso)).toISOString().replace(/\.\d+Z$/, "Z");
}

/** `host h2, pid 4242, since 2026-11-23T10:00:00Z` */
export function describeHolder(e: LockEntry): string {
  return `host ${e.info.host}, pid ${String(e.info.pid)}, since ${second(e.info.createdAt)}`;
}

/**
 * The one-line refusal when another prune holds the repository. A lock that blocks is never
 * stale, so plain `coffer unlock` would keep it: the advice is `--remove-all`, or the time at
 * which it turns stale.
 */
export function lockedError(holder: LockEntry, staleMs = LOCK_STALE_MS): CofferError {
  const staleAt = new Date(Date.parse(holder.info.refreshedAt) + staleMs).toISOString();
  return new CofferError(
    "LOCKED",
    `Cannot prune: another prune holds the repository (${describeHolder(holder)}); if it is dead, run "coffer unlock --remove-all" or wait until it is stale (${second(staleAt)}, ${String(Math.round(staleMs / 60_000))} minutes after its last refresh)`,
  );
}
