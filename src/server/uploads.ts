import { type DbInt, sqlLength, type Queryable } from "./db/dialect.ts";

/** An open multipart upload. */
export interface UploadRecord {
  uploadId: string;
  bucket: string;
  key: string;
  initiatedAt: number;
  initiatedBy: string;
}

/** One uploaded part (its bytes live in the staging directory). */
export interface PartRecord {
  partNumber: number;
  size: number;
  etag: string;
  sha256: string;
  uploadedAt: number;
}

interface UploadRow {
  upload_id: string;
  bucket: string;
  key: string;
  initiated_at: DbInt;
  initiated_by: string;
}
interface PartRow {
  part_number: number;
  size: DbInt;
  etag: string;
  sha256: string;
  uploaded_at: DbInt;
}

const upload = (r: UploadRow): UploadRecord => ({
  uploadId: r.upload_id,
  bucket: r.bucket,
  key: r.key,
  initiatedAt: Number(r.initiated_at),
  initiatedBy: r.initiated_by,
});
const part = (r: PartRow): PartRecord => ({
  partNumber: r.part_number,
  size: Number(r.size),
  etag: r.etag,
  sha256: r.sha256,
  uploadedAt: Number(r.uploaded_at),
});

/** Multipart upload sessions and their parts. GC (issue 4) reads `oldestOpen`. */
export class UploadStore {
  constructor(private readonly db: Queryable) {}

  async create(u: UploadRecord): Promise<void> {
    await this.db.run(
      "INSERT INTO multipart_uploads (upload_id, bucket, key, initiated_at, initiated_by) VALUES (?, ?, ?, ?, ?)",
      [u.uploadId, u.bucket, u.key, u.initiatedAt, u.initiatedBy],
    );
  }

  async get(uploadId: string): Promise<UploadRecord | undefined> {
    const r = await this.db.get<UploadRow>("SELECT * FROM multipart_uploads WHERE upload_id = ?", [
      uploadId,
    ]);
    return r === undefined ? undefined : upload(r);
  }

  /** Records (or replaces, as S3 does for a re-uploaded part number) a part. */
  async putPart(uploadId: string, p: PartRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO multipart_parts (upload_id, part_number, size, etag, sha256, uploaded_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (upload_id, part_number) DO UPDATE SET size = excluded.size, etag = excluded.etag,
         sha256 = excluded.sha256, uploaded_at = excluded.uploaded_at`,
      [uploadId, p.partNumber, p.size, p.etag, p.sha256, p.uploadedAt],
    );
  }

  async parts(uploadId: string, afterPart = 0, limit = 10000): Promise<PartRecord[]> {
    const rows = await this.db.all<PartRow>(
      "SELECT * FROM multipart_parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?",
      [uploadId, afterPart, limit],
    );
    return rows.map(part);
  }

  /** Open uploads of a bucket in (key, upload id) order, after the given markers. */
  async list(
    bucket: string,
    prefix: string,
    afterKey: string,
    afterId: string,
    limit: number,
  ): Promise<UploadRecord[]> {
    const rows = await this.db.all<UploadRow>(
      `SELECT * FROM multipart_uploads WHERE bucket = ? AND substr(key, 1, ?) = ?
         AND (key > ? OR (key = ? AND upload_id > ?)) ORDER BY key, upload_id LIMIT ?`,
      [bucket, sqlLength(prefix), prefix, afterKey, afterKey, afterId, limit],
    );
    return rows.map(upload);
  }

  async remove(uploadId: string): Promise<void> {
    await this.db.run("DELETE FROM multipart_uploads WHERE upload_id = ?", [uploadId]);
  }

  /** Start time of the oldest open upload of `bucket`, for GC's safety margin. */
  async oldestOpen(bucket: string): Promise<number | undefined> {
    const r = await this.db.get<{ t: number | null }>(
      "SELECT MIN(initiated_at) AS t FROM multipart_uploads WHERE bucket = ?",
      [bucket],
    );
    return r?.t ?? undefined;
  }
}
