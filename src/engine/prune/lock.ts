import { hostname, userInfo } from "node:os";
import type { Clock, Random } from "../../core/deps.ts";
import { CofferError, isCofferError } from "../../core/errors.ts";
import type { Storage } from "../../storage/storage.ts";
import { collect } from "../../core/parallel.ts";
import {
  LOCK_PREFIX,
  LOCK_REFRESH_MS,
  LOCK_STALE_MS,
  decideLock,
  decodeLock,
  encodeLock,
  lockKey,
  lockedError,
  type HolderAlive,
  type LockEntry,
  type LockInfo,
} from "./lock-decision.ts";

/** Who holds a lock. */
export interface LockOwner {
  host: string;
  pid: number;
  username: string;
}

/** Lock objects this process has written and not yet removed: their holder is alive. */
const ownKeys = new Set<string>();

/** This process as a lock owner. */
export function thisProcess(): LockOwner {
  let username: string;
  try {
    username = userInfo().username;
  } catch {
    username = String(process.getuid?.() ?? "unknown");
  }
  return { host: hostname(), pid: process.pid, username };
}

/**
 * Liveness as this machine sees it: a lock of another host is presumed alive (only time makes
 * it stale); on this host its process must exist (`kill(pid, 0)`), and a lock of this very
 * process is alive only while a {@link PruneLock} of ours still holds it.
 */
export function localLiveness(host = hostname()): HolderAlive {
  return (e) => {
    if (e.info.host !== host) return true;
    if (e.info.pid === process.pid) return ownKeys.has(e.key);
    try {
      process.kill(e.info.pid, 0);
      return true;
    } catch (err) {
      return (err as { code?: unknown }).code === "EPERM";
    }
  };
}

async function lockKeys(storage: Storage): Promise<string[]> {
  return (await collect(storage.list(LOCK_PREFIX)))
    .map((o) => o.key)
    .filter((k) => /^locks\/prune-[^/]*\.json$/.test(k))
    .sort();
}

/**
 * Every prune lock under `locks/`, and the keys of unreadable ones: a stable view. A listing
 * that runs while a lock is replaced (refresh, `acquiring` → `held`: the new object is written
 * before the old one is deleted) may hold the old key only, and its object may be gone when
 * read; so the listing is repeated until two in a row agree and every listed lock was read.
 */
export async function listLocks(
  storage: Storage,
): Promise<{ locks: LockEntry[]; unreadable: { key: string; why: string }[] }> {
  for (let attempt = 0; ; attempt++) {
    const keys = await lockKeys(storage);
    const locks: LockEntry[] = [];
    const unreadable: { key: string; why: string }[] = [];
    let vanished = false;
    for (const key of keys) {
      try {
        locks.push({ key, info: decodeLock(key, await storage.get(key)) });
      } catch (err) {
        if (isCofferError(err, "NOT_FOUND")) vanished = true;
        else if (isCofferError(err, "CORRUPT")) unreadable.push({ key, why: err.message });
        else throw err;
      }
    }
    const again = await lockKeys(storage);
    if (!vanished && again.length === keys.length && again.every((k, i) => k === keys[i]))
      return { locks, unreadable };
    if (attempt >= 50)
      throw new CofferError("IO", `Cannot read ${LOCK_PREFIX}: it keeps changing, try again`);
  }
}

/** Options of {@link acquirePruneLock}. */
export interface PruneLockOptions {
  clock: Clock;
  random: Random;
  /** Default: this process ({@link thisProcess}). */
  owner?: LockOwner;
  /** Default: {@link localLiveness}. */
  alive?: HolderAlive;
  /** Refresh period (default 5 minutes). */
  refreshMs?: number;
  /** Staleness (default 30 minutes). */
  staleMs?: number;
  /** While a later prune decides: re-list this often (default 200 ms) … */
  pollMs?: number;
  /** … for at most this long (default 60 s), then refuse naming it. */
  maxWaitMs?: number;
  /** Aborting it while deciding removes the lock and rejects with its reason. */
  signal?: AbortSignal;
  onEvent?: (message: string) => void;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Writes a fresh lock object (write-once, a new name) and records it as ours. */
async function writeLock(
  storage: Storage,
  o: PruneLockOptions,
  info: LockInfo,
): Promise<LockEntry> {
  const key = lockKey(Date.parse(info.refreshedAt), hex(o.random(6)));
  ownKeys.add(key);
  try {
    if ((await storage.putIfAbsent(key, encodeLock(info))) === "exists")
      throw new CofferError("IO", `Cannot write lock ${key}: it already exists`);
  } catch (err) {
    ownKeys.delete(key);
    throw err;
  }
  return { key, info };
}

/** Removes a lock of ours; a failure is reported, never thrown (the lock turns stale). */
async function dropLock(storage: Storage, key: string, o: PruneLockOptions): Promise<void> {
  try {
    await storage.delete(key);
  } catch (err) {
    o.onEvent?.(
      `cannot remove lock ${key} (${message(err)}); "coffer unlock" removes it once stale`,
    );
  } finally {
    ownKeys.delete(key);
  }
}

/**
 * A held prune lock: rewritten every `refreshMs` (a new object, then the old one deleted;
 * objects are write-once) until {@link release}. {@link signal} aborts, with a LOCKED error,
 * when the lock is lost: removed by someone else (`coffer unlock --remove-all`), or not
 * refreshed before it would turn stale.
 */
export class PruneLock {
  #entry: LockEntry;
  #chain: Promise<void> = Promise.resolve();
  #released = false;
  readonly #lost = new AbortController();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly storage: Storage,
    private readonly o: PruneLockOptions,
    entry: LockEntry,
  ) {
    this.#entry = entry;
    this.#timer = setInterval(() => {
      void this.refresh();
    }, o.refreshMs ?? LOCK_REFRESH_MS);
  }

  /** The current lock object. */
  get entry(): LockEntry {
    return this.#entry;
  }

  /** Aborted (reason: a LOCKED CofferError) once the lock is lost. */
  get signal(): AbortSignal {
    return this.#lost.signal;
  }

  /** Rewrites the lock now with `refreshedAt` = the clock (the timer calls this). */
  refresh(): Promise<void> {
    this.#chain = this.#chain.then(() => this.#refresh());
    return this.#chain;
  }

  async #refresh(): Promise<void> {
    if (this.#released || this.#lost.signal.aborted) return;
    const old = this.#entry;
    const now = this.o.clock.now();
    try {
      if ((await this.storage.head(old.key)) === undefined) {
        this.#lose(`its lock ${old.key} was removed (coffer unlock --remove-all?)`);
        return;
      }
      this.#entry = await writeLock(this.storage, this.o, { ...old.info, refreshedAt: iso(now) });
      await dropLock(this.storage, old.key, this.o);
    } catch (err) {
      this.o.onEvent?.(`cannot refresh lock ${old.key}: ${message(err)}`);
      const stale = this.o.staleMs ?? LOCK_STALE_MS;
      const period = this.o.refreshMs ?? LOCK_REFRESH_MS;
      if (now - Date.parse(old.info.refreshedAt) + period >= stale)
        this.#lose(`its lock ${old.key} could not be refreshed and turns stale`);
    }
  }

  #lose(why: string): void {
    this.#lost.abort(
      new CofferError("LOCKED", `Prune stopped: ${why}; the repository is whole, run prune again`),
    );
  }

  /** Stops refreshing and removes the lock (a failure is reported via `onEvent`). */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    await this.#chain;
    await dropLock(this.storage, this.#entry.key, this.o);
  }
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/**
 * Takes the repository's prune lock: writes `locks/prune-…json` (state `acquiring`), lists
 * `locks/` and applies {@link decideLock}. Proceeding, it writes the `held` lock (same
 * `createdAt`) and removes the `acquiring` one. Refusing, it removes its lock and throws
 * LOCKED naming the holder (one line). Backups never read or write locks.
 */
export async function acquirePruneLock(storage: Storage, o: PruneLockOptions): Promise<PruneLock> {
  const owner = o.owner ?? thisProcess();
  const alive = o.alive ?? localLiveness();
  const now = iso(o.clock.now());
  const own = await writeLock(storage, o, {
    v: 1,
    kind: "prune",
    state: "acquiring",
    ...owner,
    createdAt: now,
    refreshedAt: now,
  });
  const polls = Math.ceil((o.maxWaitMs ?? 60_000) / (o.pollMs ?? 200));
  try {
    for (let poll = 0; ; poll++) {
      o.signal?.throwIfAborted();
      const { locks, unreadable } = await listLocks(storage);
      for (const u of unreadable) o.onEvent?.(`ignoring unreadable lock ${u.key}: ${u.why}`);
      if (!locks.some((e) => e.key === own.key))
        throw new CofferError("LOCKED", `Cannot prune: its lock ${own.key} was removed meanwhile`);
      const staleMs = o.staleMs ?? LOCK_STALE_MS;
      const d = decideLock(own, locks, { now: o.clock.now(), staleMs, alive });
      if (d.action === "refuse") throw lockedError(d.holder, staleMs);
      if (d.action === "proceed") {
        const held = await writeLock(storage, o, {
          ...own.info,
          state: "held",
          refreshedAt: iso(o.clock.now()),
        });
        await dropLock(storage, own.key, o);
        return new PruneLock(storage, o, held);
      }
      const first = d.on[0] as LockEntry;
      if (poll >= polls) throw lockedError(first, staleMs);
      if (poll === 0) o.onEvent?.(`waiting for a prune starting at the same time to give up`);
      await sleep(o.pollMs ?? 200);
    }
  } catch (err) {
    await dropLock(storage, own.key, o);
    throw err;
  }
}

/** Runs `fn` under the prune lock, released in a `finally` (success, error or interrupt). */
export async function withPruneLock<T>(
  storage: Storage,
  o: PruneLockOptions,
  fn: (lock: PruneLock) => Promise<T>,
): Promise<T> {
  const lock = await acquirePruneLock(storage, o);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}
