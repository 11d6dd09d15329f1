import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { CofferError, isCofferError } from "../core/errors.ts";
import type { ByteRange, Storage } from "../storage/storage.ts";
import type { ObjectLedger, ObjectRecord } from "./ledger.ts";
import { S3Error } from "./s3/errors.ts";

/** Storage key of a bucket's object: `buckets/<bucket>/<key>`. */
export function storageKey(bucket: string, key: string): string {
  return `buckets/${bucket}/${key}`;
}

/** A storage backend that can adopt a finished file without copying it into memory. */
interface FileAdopter {
  putFileIfAbsent(key: string, path: string): Promise<"created" | "exists">;
}
function canAdopt(s: Storage): s is Storage & FileAdopter {
  return typeof (s as Partial<FileAdopter>).putFileIfAbsent === "function";
}

/** The outcome of a write-once commit. */
export interface CommitResult {
  record: ObjectRecord;
  /** False when an identical object already existed (an idempotent retry). */
  created: boolean;
}

/**
 * Write-once objects: the Storage holds bytes, the ledger holds size/hashes. A key that
 * exists keeps its bytes forever: a different body → `ObjectImmutable` (409), the same body →
 * success, and with `If-None-Match: *` any existing object → `PreconditionFailed` (412).
 * Atomicity comes from `Storage.putIfAbsent`, so concurrent writers have exactly one winner.
 */
export class ObjectStore {
  constructor(
    readonly storage: Storage,
    readonly ledger: ObjectLedger,
  ) {}

  async commit(
    o: { bucket: string; key: string; path: string; size: number; sha256: string; etag: string },
    opts: { ifNoneMatch: boolean; by: string; now: number },
  ): Promise<CommitResult> {
    const refuse = (existing: { sha256: string }): never => {
      if (opts.ifNoneMatch) {
        throw new S3Error(
          "PreconditionFailed",
          "At least one of the pre-conditions you specified did not hold",
          { Condition: "If-None-Match" },
        );
      }
      throw new S3Error(
        "ObjectImmutable",
        `Object ${o.key} already exists with different content; objects are write-once (existing sha256 ${existing.sha256.slice(0, 16)}…)`,
      );
    };
    const existing = await this.ledger.get(o.bucket, o.key);
    if (existing !== undefined) {
      if (opts.ifNoneMatch || existing.sha256 !== o.sha256) return refuse(existing);
      return { record: existing, created: false };
    }
    const sk = storageKey(o.bucket, o.key);
    let put: "created" | "exists";
    if (canAdopt(this.storage)) put = await this.storage.putFileIfAbsent(sk, o.path);
    else put = await this.storage.putIfAbsent(sk, await readFile(o.path));
    const rec: ObjectRecord = {
      bucket: o.bucket,
      key: o.key,
      size: o.size,
      sha256: o.sha256,
      etag: o.etag,
      createdAt: opts.now,
      createdBy: opts.by,
    };
    if (put === "exists") {
      // A concurrent writer won, or a crash left bytes without a ledger row: compare bytes.
      const winner = await this.ledger.get(o.bucket, o.key);
      const storedSha =
        winner?.sha256 ??
        createHash("sha256")
          .update(await this.storage.get(sk))
          .digest("hex");
      if (opts.ifNoneMatch || storedSha !== o.sha256) return refuse({ sha256: storedSha });
      if (winner !== undefined) return { record: winner, created: false };
    }
    const r = await this.ledger.insert(rec);
    return { record: r.record, created: put === "created" };
  }

  /** The object's record, or `NoSuchKey`. */
  async require(bucket: string, key: string): Promise<ObjectRecord> {
    const rec = await this.ledger.get(bucket, key);
    if (rec === undefined)
      throw new S3Error("NoSuchKey", "The specified key does not exist.", { Key: key });
    return rec;
  }

  async read(bucket: string, key: string, range?: ByteRange): Promise<Uint8Array> {
    try {
      return await this.storage.get(storageKey(bucket, key), range);
    } catch (err) {
      if (isCofferError(err, "NOT_FOUND")) {
        throw new CofferError(
          "IO",
          `Object ${bucket}/${key} is in the ledger but missing from storage`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** Destroys an object at once (scratch prefixes only; everything else goes through deletions). */
  async destroyScratch(bucket: string, key: string): Promise<void> {
    await this.storage.delete(storageKey(bucket, key));
    await this.ledger.remove(bucket, key);
  }
}
