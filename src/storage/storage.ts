/**
 * A byte range of an object. A range that runs past the end of the object is clamped: `get`
 * returns the bytes that exist (possibly none), never an error.
 */
export interface ByteRange {
  offset: number;
  length: number;
}

/** What `head` and `list` report about an object. */
export interface ObjectInfo {
  key: string;
  size: number;
}

/** Result of {@link Storage.putIfAbsent}. */
export type PutResult = "created" | "exists";

/**
 * An object being written piece by piece (see {@link Storage.createWriter}); its key is only
 * known at the end (content-addressed objects). Nothing is visible under any key before
 * {@link ObjectWriter.commit}.
 */
export interface ObjectWriter {
  /** Appends `parts` in order. The caller must not modify them until the promise settles. */
  write(parts: readonly Uint8Array[]): Promise<void>;
  /** Bytes appended so far. */
  readonly size: number;
  /**
   * Stores everything written under `key` with {@link Storage.putIfAbsent}'s semantics
   * (atomic, never overwrites; `"exists"` when the key was already there). The writer is
   * finished afterwards, also when this rejects.
   */
  commit(key: string): Promise<PutResult>;
  /** Discards the written bytes (idempotent; a no-op after commit). */
  abort(): Promise<void>;
}

/**
 * The one storage interface every backend (memory, local, s3) implements and every
 * consumer (engine, gateway) uses. Keys are `/`-separated, relative to the repository root.
 * Errors are `CofferError`s: `NOT_FOUND`, `NO_SPACE`, `PERMISSION_DENIED`, `IO`, `NETWORK`.
 * Keys that are empty, absolute, contain NUL/backslash, or have an empty, `.` or `..` segment
 * are refused with `BAD_INPUT` (see `keys.ts`). Every backend passes `contract.ts`.
 */
export interface Storage {
  /** A short human description, e.g. `local:/srv/backups`. */
  readonly location: string;
  /**
   * Reads an object or a range of it (clamped to the object's size). Missing object:
   * `CofferError("NOT_FOUND")`, also when a range is given.
   */
  get(key: string, range?: ByteRange): Promise<Uint8Array>;
  /**
   * Stores `body` under `key` unless the key exists. Atomic: a reader sees either nothing
   * or the whole object, never a partial one, even after a crash.
   */
  putIfAbsent(key: string, body: Uint8Array): Promise<PutResult>;
  /** Size of an object, or `undefined` when it does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in no guaranteed order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Removes an object; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Optional: starts an object written in pieces and named at the end (packs are streamed
   * to disk instead of being assembled in memory). Backends without it are used through
   * `putIfAbsent` (see `engine/pipeline/pack-writer.ts`).
   */
  createWriter?(): Promise<ObjectWriter>;
  /**
   * Optional: removes temp files left behind by a writer that died mid-write (only backends
   * that keep temp files, e.g. local's `tmp/`); returns how many it removed. Never removes a
   * live writer's file.
   */
  cleanupTemp?(): Promise<number>;
  /** Releases connections and handles. */
  close?(): Promise<void>;
}
