import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { Agent } from "node:https";
import type { GatewayProcess, SourceCreds } from "./gateway-process.ts";

const DAY = 86_400_000;

/** An SDK client for `c` on the gateway (path style; trusts the self-signed CA over HTTPS). */
export function sdkFor(
  gw: GatewayProcess,
  c: SourceCreds,
  o: { defaultChecksums?: boolean } = {},
): S3Client {
  return new S3Client({
    endpoint: gw.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    maxAttempts: 1,
    ...(o.defaultChecksums === false
      ? { requestChecksumCalculation: "WHEN_REQUIRED" as const }
      : {}),
    ...(gw.caFile !== undefined
      ? { requestHandler: { httpsAgent: new Agent({ ca: readFileSync(gw.caFile) }) } }
      : {}),
  });
}

/** The object is in the ledger and on disk with exactly the bytes whose SHA-256 is `sha`. */
export function assertStored(gw: GatewayProcess, bucket: string, key: string, sha: string): void {
  const row = gw.object(bucket, key);
  assert.ok(row !== undefined, `${bucket}/${key} is not in the gateway's ledger`);
  assert.equal(row.sha256, sha, `${bucket}/${key}: ledger SHA-256`);
  const path = gw.objectPath(bucket, key);
  assert.ok(existsSync(path), `${bucket}/${key} is not on disk at ${path}`);
  assert.equal(
    createHash("sha256").update(readFileSync(path)).digest("hex"),
    sha,
    `${bucket}/${key}: bytes on disk`,
  );
}

/** The completed object came from a multipart upload (its ETag is `<md5 of md5s>-<parts>`). */
export function assertMultipart(gw: GatewayProcess, bucket: string, key: string): void {
  const row = gw.object(bucket, key);
  assert.ok(row !== undefined, `${bucket}/${key} missing`);
  assert.match(
    row.etag,
    /^[0-9a-f]{32}-\d+$/,
    `${bucket}/${key} was not uploaded with multipart (ETag ${row.etag})`,
  );
}

/**
 * A client's DELETE left the object in place: a PENDING deletion (reason user, by this
 * source's key, at least 14 days out) is recorded and the bytes are still stored.
 */
export function assertPendingDeletion(
  gw: GatewayProcess,
  c: SourceCreds,
  key: string,
  sha: string,
): void {
  const rows = gw.deletions(c.bucket, key).filter((d) => d.state === "PENDING");
  assert.equal(
    rows.length,
    1,
    `expected one pending deletion of ${c.bucket}/${key}, got ${JSON.stringify(gw.deletions(c.bucket, key))}`,
  );
  const d = rows[0]!;
  assert.equal(d.reason, "user");
  assert.equal(d.requested_by, c.accessKeyId);
  assert.ok(
    d.execute_after - d.requested_at >= 14 * DAY,
    "deletion delay shorter than the 14-day minimum",
  );
  assertStored(gw, c.bucket, key, sha);
}

/** Puts a small object into `c`'s bucket with its own credentials; returns key and SHA-256. */
export async function seedObject(
  gw: GatewayProcess,
  c: SourceCreds,
  key = "victim/precious.bin",
): Promise<{ key: string; sha: string; body: Buffer }> {
  const body = randomBytes(10_000);
  const s3 = sdkFor(gw, c);
  try {
    await s3.send(new PutObjectCommand({ Bucket: c.bucket, Key: key, Body: body }));
  } finally {
    s3.destroy();
  }
  return { key, sha: createHash("sha256").update(body).digest("hex"), body };
}

/** The other source's bucket is exactly as seeded: the object intact, nothing else, no deletions. */
export function assertUntouched(
  gw: GatewayProcess,
  victim: SourceCreds,
  seeded: { key: string; sha: string },
): void {
  assertStored(gw, victim.bucket, seeded.key, seeded.sha);
  const keys = gw
    .query<{ key: string }>("SELECT key FROM objects WHERE bucket = ?", victim.bucket)
    .map((r) => r.key);
  assert.deepEqual(keys, [seeded.key], `objects appeared in ${victim.bucket}`);
  assert.deepEqual(gw.deletions(victim.bucket), [], `deletions recorded in ${victim.bucket}`);
}
