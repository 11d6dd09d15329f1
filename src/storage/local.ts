import {
  chmod,
  copyFile,
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  opendir,
  stat,
  unlink,
} from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Clock, Random } from "../core/deps.ts";
import { CofferError, fromSystemError } from "../core/errors.ts";
import { systemClock, systemRandom } from "../core/system.ts";
import { clampRange, validateKey, validatePrefix, validateRange } from "./keys.ts";
import type { ByteRange, ObjectInfo, ObjectWriter, PutResult, Storage } from "./storage.ts";
import {
  type TempOwner,
  currentTempOwner,
  parseTempFileName,
  processAlive,
  tempFileName,
} from "./temp-owner.ts";

/** The file-system calls {@link LocalStorage} makes while writing; a seam for fault tests. */
export interface LocalIo {
  /** Writes all of `body` to the start of the freshly created `handle`. */
  write(handle: FileHandle, body: Uint8Array): Promise<void>;
  /** Flushes `handle` to stable storage. */
  sync(handle: FileHandle): Promise<void>;
  /** Creates `target` as a hard link to `existing`; EEXIST when `target` exists. */
  link(existing: string, target: string): Promise<void>;
}

/** Options for {@link LocalStorage}. */
export interface LocalStorageOptions {
  /** Randomness for temp file names. */
  random?: Random;
  /** Clock for {@link LocalStorage.cleanupTemp}. */
  clock?: Clock;
  /** Overrides for file-system calls; tests use it to inject failures. */
  io?: Partial<LocalIo>;
  /** Owner encoded in temp file names (default: this process, see temp-owner.ts). */
  owner?: TempOwner;
  /** Whether a PID is alive (default: `kill(pid, 0)`); for {@link LocalStorage.cleanupTemp}. */
  isAlive?: (pid: number) => boolean;
}

const defaultIo: LocalIo = {
  async write(handle, body) {
    let done = 0;
    while (done < body.length) {
      const { bytesWritten } = await handle.write(body, done, body.length - done, done);
      done += bytesWritten;
    }
  },
  sync: (handle) => handle.sync(),
  link: (existing, target) => link(existing, target),
};

/** Directory under the root that holds temp files; never a key prefix. */
const TMP = "tmp";

const errno = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;
const isMissing = (err: unknown): boolean => errno(err) === "ENOENT" || errno(err) === "ENOTDIR";

/**
 * A {@link Storage} over a local directory: key `a/b/c` is the file `root/a/b/c`.
 *
 * `putIfAbsent` writes `root/tmp/<random>`, fsyncs it, hard-links it into place (so an
 * existing object is never overwritten and a reader never sees a partial one), removes the
 * temp name and fsyncs the directory. Parent directories are created on demand.
 */
export class LocalStorage implements Storage {
  readonly location: string;
  readonly root: string;
  readonly #random: Random;
  readonly #clock: Clock;
  readonly #io: LocalIo;
  readonly #owner: TempOwner;
  readonly #isAlive: (pid: number) => boolean;
  readonly #knownDirs = new Set<string>();

  constructor(root: string, options: LocalStorageOptions = {}) {
    this.root = resolve(root);
    this.location = `local:${this.root}`;
    this.#random = options.random ?? systemRandom;
    this.#clock = options.clock ?? systemClock;
    this.#io = { ...defaultIo, ...options.io };
    this.#owner = options.owner ?? currentTempOwner();
    this.#isAlive = options.isAlive ?? processAlive;
  }

  /** A fresh temp file path under `tmp/`, named after this process (see temp-owner.ts). */
  #tempPath(): string {
    return join(this.root, TMP, tempFileName(this.#owner, this.#random(16)));
  }

  #path(key: string): string {
    validateKey(key);
    if (key === TMP || key.startsWith(`${TMP}/`)) {
      throw new CofferError("BAD_INPUT", `Invalid storage key "${key}": '${TMP}/' is reserved`);
    }
    return join(this.root, ...key.split("/"));
  }

  #fail(err: unknown, verb: string, key: string): CofferError {
    if (errno(err) === "ENAMETOOLONG") {
      return new CofferError(
        "BAD_INPUT",
        `Cannot ${verb} ${key}: name too long for the file system`,
        {
          cause: err,
        },
      );
    }
    return fromSystemError(err, `Cannot ${verb} ${key} in ${this.location}`);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const path = this.#path(key);
    if (range !== undefined) validateRange(key, range);
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (err) {
      if (isMissing(err))
        throw new CofferError("NOT_FOUND", `Cannot read ${key}: not found`, { cause: err });
      throw this.#fail(err, "read", key);
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new CofferError("NOT_FOUND", `Cannot read ${key}: not found`);
      const { start, end } =
        range === undefined ? { start: 0, end: st.size } : clampRange(range, st.size);
      const out = Buffer.allocUnsafe(end - start);
      let done = 0;
      while (done < out.length) {
        const { bytesRead } = await handle.read(out, done, out.length - done, start + done);
        if (bytesRead === 0) {
          throw new CofferError("IO", `Cannot read ${key}: file shrank while reading`);
        }
        done += bytesRead;
      }
      return out;
    } catch (err) {
      throw this.#fail(err, "read", key);
    } finally {
      await handle.close();
    }
  }

  async putIfAbsent(key: string, body: Uint8Array): Promise<PutResult> {
    const path = this.#path(key);
    try {
      // Cheap check first: most duplicate puts (dedup, retries) end here without writing.
      if ((await this.#lstatOrUndefined(path)) !== undefined)
        return await this.#existing(key, path);
      const tmpDir = join(this.root, TMP);
      await this.#ensureDir(tmpDir);
      const tmp = this.#tempPath();
      try {
        const handle = await open(tmp, "wx", 0o444);
        try {
          await this.#io.write(handle, body);
          await this.#io.sync(handle);
        } finally {
          await handle.close();
        }
        return await this.#linkIntoPlace(key, tmp, path);
      } finally {
        await unlink(tmp).catch((err: unknown) => {
          if (errno(err) !== "ENOENT") throw err;
        });
      }
    } catch (err) {
      throw this.#fail(err, "store", key);
    }
  }

  /**
   * Stores the finished file at `file` as `key` without reading it into memory: it is
   * fsynced, made read-only and hard-linked into place (copied first when it lives on another
   * file system), with {@link putIfAbsent}'s semantics (atomic, never overwrites, `"exists"`
   * when the key is there). The file is adopted: the caller may unlink its own name but must
   * not modify it afterwards. The coffer gateway commits verified uploads this way.
   */
  async putFileIfAbsent(key: string, file: string): Promise<PutResult> {
    const path = this.#path(key);
    try {
      if ((await this.#lstatOrUndefined(path)) !== undefined)
        return await this.#existing(key, path);
      const handle = await open(file, "r");
      try {
        await this.#io.sync(handle);
      } finally {
        await handle.close();
      }
      await chmod(file, 0o444);
      try {
        return await this.#linkIntoPlace(key, file, path);
      } catch (err) {
        if (errno(err) !== "EXDEV") throw err;
      }
      const tmpDir = join(this.root, TMP);
      await this.#ensureDir(tmpDir);
      const tmp = this.#tempPath();
      try {
        await copyFile(file, tmp);
        const copy = await open(tmp, "r");
        try {
          await this.#io.sync(copy);
        } finally {
          await copy.close();
        }
        return await this.#linkIntoPlace(key, tmp, path);
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
    } catch (err) {
      throw this.#fail(err, "store", key);
    }
  }

  /**
   * Streams an object into `root/tmp/<random>` (positional `writev`s, no assembly in
   * memory); `commit(key)` then fsyncs it and hard-links it into place exactly like
   * {@link putIfAbsent}.
   */
  async createWriter(): Promise<ObjectWriter> {
    const tmpDir = join(this.root, TMP);
    let handle: FileHandle;
    let tmp: string;
    try {
      await this.#ensureDir(tmpDir);
      tmp = this.#tempPath();
      handle = await open(tmp, "wx", 0o444);
    } catch (err) {
      throw fromSystemError(err, `Cannot create a temp file in ${this.location}`);
    }
    let size = 0;
    let failure: unknown;
    let done = false;
    let pending: Promise<void> = Promise.resolve();
    const finish = async (): Promise<void> => {
      if (done) return;
      done = true;
      await pending;
      await handle.close().catch(() => undefined);
      await unlink(tmp).catch((err: unknown) => {
        if (errno(err) !== "ENOENT") throw err;
      });
    };
    return {
      get size() {
        return size;
      },
      write: (parts) => {
        if (done) return Promise.reject(new CofferError("IO", "Cannot write: object finished"));
        const position = size;
        for (const p of parts) size += p.length;
        const p = writeAllv(handle, parts, position).catch((err: unknown) => {
          failure ??= err;
          throw fromSystemError(err, `Cannot write a temp file in ${this.location}`);
        });
        pending = pending.then(
          () => p.catch(() => undefined),
          () => undefined,
        );
        return p;
      },
      commit: async (key) => {
        const path = this.#path(key);
        if (done) throw new CofferError("IO", `Cannot store ${key}: writer already finished`);
        try {
          await pending;
          if (failure !== undefined)
            throw failure instanceof Error ? failure : new Error("write failed");
          await this.#io.sync(handle);
          await handle.close();
          done = true;
          return await this.#linkIntoPlace(key, tmp, path);
        } catch (err) {
          throw this.#fail(err, "store", key);
        } finally {
          done = true;
          await handle.close().catch(() => undefined);
          await unlink(tmp).catch(() => undefined);
        }
      },
      abort: finish,
    };
  }

  async #linkIntoPlace(key: string, tmp: string, path: string): Promise<PutResult> {
    const dir = dirname(path);
    for (let attempt = 0; ; attempt++) {
      await this.#ensureDir(dir);
      try {
        await this.#io.link(tmp, path);
        await fsyncDir(dir);
        return "created";
      } catch (err) {
        if (errno(err) === "EEXIST") return await this.#existing(key, path);
        // The directory vanished under us (e.g. removed by a cleanup): recreate once.
        if (errno(err) === "ENOENT" && attempt === 0) {
          this.#knownDirs.delete(dir);
          continue;
        }
        throw err;
      }
    }
  }

  async #existing(key: string, path: string): Promise<PutResult> {
    const st = await lstat(path);
    if (st.isFile()) return "exists";
    throw new CofferError(
      "CONFLICT",
      `Cannot store ${key}: a directory of other keys has that name`,
    );
  }

  async #lstatOrUndefined(path: string): Promise<{ isFile(): boolean } | undefined> {
    try {
      return await lstat(path);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** Creates `dir` and its parents when missing, fsyncing each parent that gained an entry. */
  async #ensureDir(dir: string): Promise<void> {
    if (this.#knownDirs.has(dir)) return;
    const first = await mkdir(dir, { recursive: true });
    if (first !== undefined) {
      // `first` is the outermost directory created; every directory from its parent down
      // to `dir`'s parent gained an entry.
      let p = dir;
      const parents: string[] = [];
      while (p.length >= first.length) {
        parents.push(dirname(p));
        p = dirname(p);
      }
      for (const parent of parents) await fsyncDir(parent);
    }
    this.#knownDirs.add(dir);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.#path(key);
    try {
      const st = await stat(path);
      return st.isFile() ? { key, size: st.size } : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.#fail(err, "stat", key);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    const cut = prefix.lastIndexOf("/");
    const base = cut < 0 ? "" : prefix.slice(0, cut + 1);
    if (base === `${TMP}/` || base.startsWith(`${TMP}/`)) return;
    yield* this.#walk(base, prefix);
  }

  /** Yields files under the directory for key prefix `rel` (`""` or ending in `/`). */
  async *#walk(rel: string, prefix: string): AsyncGenerator<ObjectInfo> {
    const dirPath = rel === "" ? this.root : join(this.root, ...rel.slice(0, -1).split("/"));
    let dir;
    try {
      dir = await opendir(dirPath, { bufferSize: 256 });
    } catch (err) {
      if (isMissing(err)) return;
      throw this.#fail(err, "list", rel === "" ? "/" : rel);
    }
    const files: string[] = [];
    const subdirs: string[] = [];
    try {
      for await (const entry of dir) {
        const key = rel + entry.name;
        if (entry.isDirectory()) {
          if (rel === "" && entry.name === TMP) continue;
          const sub = `${key}/`;
          if (sub.startsWith(prefix) || prefix.startsWith(sub)) subdirs.push(sub);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          files.push(key);
        }
      }
    } catch (err) {
      throw this.#fail(err, "list", rel === "" ? "/" : rel);
    }
    for (let i = 0; i < files.length; i += 64) {
      const batch = files.slice(i, i + 64);
      const sizes = await Promise.all(batch.map((key) => this.head(key)));
      for (const info of sizes) if (info !== undefined) yield info;
    }
    for (const sub of subdirs) yield* this.#walk(sub, prefix);
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      await unlink(path);
    } catch (err) {
      const code = errno(err);
      if (isMissing(err) || code === "EISDIR") return;
      throw this.#fail(err, "delete", key);
    }
    try {
      await fsyncDir(dirname(path));
    } catch (err) {
      throw this.#fail(err, "delete", key);
    }
  }

  /**
   * Removes the temp files that no write in progress can own, left behind by a process killed
   * mid-write (SIGKILL, power loss), and returns how many it removed. A temp file is stale when
   * its name says it was written by another process in this host/boot/PID namespace that no
   * longer exists, or, whoever wrote it, when it was last modified more than `maxAgeMs`
   * (default one day) ago. A live writer's files (this process's, or another live process's
   * on this machine, or a recent one from another machine sharing the directory) are kept.
   * Removing a live writer's file could only make its store fail (the final link finds no
   * file), never store a partial object.
   */
  async cleanupTemp(maxAgeMs = 24 * 60 * 60 * 1000): Promise<number> {
    const tmpDir = join(this.root, TMP);
    const cutoff = this.#clock.now() - maxAgeMs;
    let removed = 0;
    let dir;
    try {
      dir = await opendir(tmpDir);
    } catch (err) {
      if (isMissing(err)) return 0;
      throw fromSystemError(err, `Cannot clean temp files in ${this.location}`);
    }
    try {
      for await (const entry of dir) {
        const path = join(tmpDir, entry.name);
        try {
          const st = await lstat(path);
          if (!st.isFile()) continue;
          const owner = parseTempFileName(entry.name);
          const deadHere =
            owner !== undefined &&
            owner.tag === this.#owner.tag &&
            owner.pid !== this.#owner.pid &&
            !this.#isAlive(owner.pid);
          if (!deadHere && st.mtimeMs > cutoff) continue;
          await unlink(path);
          removed++;
        } catch (err) {
          if (!isMissing(err)) throw err;
        }
      }
    } catch (err) {
      throw fromSystemError(err, `Cannot clean temp files in ${this.location}`);
    }
    return removed;
  }
}

/** Writes every byte of `parts` at `position` (loops over short writes). */
async function writeAllv(
  handle: FileHandle,
  parts: readonly Uint8Array[],
  position: number,
): Promise<void> {
  let rest = parts.filter((p) => p.length > 0);
  let pos = position;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest.slice(0, 1024), pos);
    pos += bytesWritten;
    let n = bytesWritten;
    let i = 0;
    while (i < rest.length && n >= rest[i]!.length) n -= rest[i++]!.length;
    rest = rest.slice(i);
    if (n > 0) rest[0] = rest[0]!.subarray(n);
  }
}

/** Flushes a directory's entries (new links, unlinks) to stable storage. */
async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
