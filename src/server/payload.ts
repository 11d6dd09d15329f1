import { algorithmOfHeader, createChecksum } from "../sigv4/checksum.ts";
import type { Caller } from "./auth.ts";
import type { BodyChecks, Checksummer, PayloadDecoder } from "./body.ts";
import type { GatewayRequest } from "./request.ts";
import { S3Error } from "./s3/errors.ts";
import { streamingDecoder } from "./streaming.ts";

/** How to read and verify a request's body. */
export interface PayloadPlan {
  decoder?: PayloadDecoder;
  checks: BodyChecks;
}

function lengthHeader(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v.trim())) throw new S3Error("InvalidArgument", `Invalid ${name} header`);
  return Number(v.trim());
}

/**
 * Builds the verification plan for a body: the declared SHA-256 (hex mode), Content-MD5,
 * any `x-amz-checksum-*` header, the declared length, and the aws-chunked decoder (chunk
 * signatures and trailer checksums) for streaming modes.
 */
export function planPayload(req: GatewayRequest, caller: Caller, maxBytes: number): PayloadPlan {
  const h = req.headers;
  const mode = caller.verified.payloadMode;
  const checksums: { expected: string; hasher: Checksummer }[] = [];
  for (const [name, value] of Object.entries(h)) {
    const alg = algorithmOfHeader(name);
    if (alg === undefined) continue;
    const c = createChecksum(alg);
    checksums.push({
      expected: value.trim(),
      hasher: { algorithm: alg, update: (b) => { c.update(b); }, digest: () => c.digest().toString("base64") },
    });
  }
  const md5 = h["content-md5"];
  if (md5 !== undefined && !/^[A-Za-z0-9+/]{22}==$/.test(md5.trim())) {
    throw new S3Error("InvalidDigest", "The Content-MD5 you specified is not valid.");
  }
  const checks: BodyChecks = { checksums, maxBytes };
  if (md5 !== undefined) checks.contentMd5 = md5.trim();
  if (mode === "hex" && caller.verified.declaredSha256 !== undefined) checks.sha256Hex = caller.verified.declaredSha256;
  const contentLength = lengthHeader(h["content-length"], "Content-Length");
  if (mode.startsWith("streaming-")) {
    const decoded = lengthHeader(h["x-amz-decoded-content-length"], "x-amz-decoded-content-length");
    if (decoded === undefined) {
      throw new S3Error("MissingContentLength", "You must provide x-amz-decoded-content-length with aws-chunked uploads.");
    }
    checks.expectedLength = decoded;
    return { decoder: streamingDecoder(req, caller, contentLength), checks };
  }
  if (contentLength === undefined && h["transfer-encoding"] === undefined) {
    if (req.method === "PUT") throw new S3Error("MissingContentLength", "You must provide the Content-Length HTTP header.");
  }
  if (contentLength !== undefined) checks.expectedLength = contentLength;
  return { checks };
}
