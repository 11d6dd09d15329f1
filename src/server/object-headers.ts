import type { Queryable } from "./db/dialect.ts";
import { S3Error } from "./s3/errors.ts";

/** System headers S3 stores with an object and returns on GET/HEAD. */
const STORED = [
  "content-type",
  "cache-control",
  "expires",
  "content-encoding",
  "content-disposition",
  "content-language",
] as const;

/** S3's limit on user-defined metadata (names and values of `x-amz-meta-*`), in bytes. */
export const MAX_USER_METADATA_BYTES = 2048;

/**
 * The headers of a PutObject or CreateMultipartUpload that S3 stores with the object:
 * Content-Type, Cache-Control, Expires, Content-Encoding (without the transfer coding
 * `aws-chunked`), Content-Disposition, Content-Language and `x-amz-meta-*`. User metadata
 * over 2 KB → `400 MetadataTooLarge`, as S3.
 */
export function storedHeaders(h: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of STORED) {
    let v = h[name];
    if (name === "content-encoding" && v !== undefined)
      v = v
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x !== "" && x.toLowerCase() !== "aws-chunked")
        .join(",");
    if (v !== undefined && v !== "") out[name] = v;
  }
  let userBytes = 0;
  for (const [name, v] of Object.entries(h)) {
    if (!name.startsWith("x-amz-meta-")) continue;
    userBytes += Buffer.byteLength(name.slice(11)) + Buffer.byteLength(v);
    out[name] = v;
  }
  if (userBytes > MAX_USER_METADATA_BYTES)
    throw new S3Error(
      "MetadataTooLarge",
      `Your metadata headers exceed the maximum allowed metadata size (${userBytes} of ${MAX_USER_METADATA_BYTES} bytes)`,
    );
  return out;
}

/** Records the headers of an object just created (a key created again replaces them). */
export async function saveObjectHeaders(
  db: Queryable,
  bucket: string,
  key: string,
  headers: Readonly<Record<string, string>>,
): Promise<void> {
  await db.run(
    `INSERT INTO object_headers (bucket, key, headers) VALUES (?, ?, ?)
     ON CONFLICT (bucket, key) DO UPDATE SET headers = excluded.headers`,
    [bucket, key, JSON.stringify(headers)],
  );
}

/** The stored headers of an object (empty when none were given). */
export async function loadObjectHeaders(
  db: Queryable,
  bucket: string,
  key: string,
): Promise<Record<string, string>> {
  const r = await db.get<{ headers: string }>(
    "SELECT headers FROM object_headers WHERE bucket = ? AND key = ?",
    [bucket, key],
  );
  return r === undefined ? {} : (JSON.parse(r.headers) as Record<string, string>);
}

/** Keeps a multipart upload's headers until it completes (or is aborted). */
export async function saveUploadHeaders(
  db: Queryable,
  uploadId: string,
  headers: Readonly<Record<string, string>>,
): Promise<void> {
  await db.run("INSERT INTO upload_headers (upload_id, headers) VALUES (?, ?)", [
    uploadId,
    JSON.stringify(headers),
  ]);
}

/** A multipart upload's headers; `drop` removes them. */
export async function uploadHeaders(
  db: Queryable,
  uploadId: string,
  o: { drop?: boolean } = {},
): Promise<Record<string, string>> {
  const r = await db.get<{ headers: string }>(
    "SELECT headers FROM upload_headers WHERE upload_id = ?",
    [uploadId],
  );
  if (o.drop === true) await db.run("DELETE FROM upload_headers WHERE upload_id = ?", [uploadId]);
  return r === undefined ? {} : (JSON.parse(r.headers) as Record<string, string>);
}
