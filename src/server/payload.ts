import { createBodyVerifier } from "../sigv4/body-verifier.ts";
import type { Caller } from "./auth.ts";
import { receiveBody, type BodyLimits, type ReceivedBody } from "./body.ts";
import type { GatewayRequest } from "./request.ts";
import { S3Error } from "./s3/errors.ts";

/**
 * Receives a request body into a temp file, verified against everything the signed request
 * declared (hex SHA-256, aws-chunked chunk signatures and trailer checksums, Content-MD5,
 * x-amz-checksum-*) and the declared length. Nothing is returned unless all of it holds.
 */
export function receivePayload(
  req: GatewayRequest,
  caller: Caller,
  tmpDir: string,
  maxBytes: number,
  opts: { sync?: boolean } = {},
): Promise<ReceivedBody> {
  const h = req.headers;
  const limits: BodyLimits = { maxBytes };
  if (opts.sync === false) limits.sync = false;
  if (!caller.verified.payloadMode.startsWith("streaming-")) {
    const cl = h["content-length"];
    if (cl !== undefined) {
      if (!/^\d{1,15}$/.test(cl.trim()))
        throw new S3Error("InvalidArgument", "Invalid Content-Length header");
      limits.expectedLength = Number(cl.trim());
    } else if (h["transfer-encoding"] === undefined && req.method === "PUT") {
      throw new S3Error("MissingContentLength", "You must provide the Content-Length HTTP header.");
    }
  }
  const v = caller.verified;
  if (v.payloadMode === "hex" && v.declaredSha256 !== undefined)
    limits.verifiedSha256 = v.declaredSha256.toLowerCase();
  const verifier = createBodyVerifier(v, h);
  return receiveBody(req.body, tmpDir, verifier, limits);
}
