import { verifyRequest, type VerifySuccess } from "../sigv4/verify-request.ts";
import type { GatewayRequest } from "./request.ts";
import { S3_ERRORS, S3Error, type S3ErrorCode } from "./s3/errors.ts";
import type { SourceStore, SourceWithSecret } from "./sources.ts";

/** A verified caller: the source its key belongs to, and the signature facts. */
export interface Caller {
  source: SourceWithSecret;
  accessKeyId: string;
  verified: VerifySuccess<{ secret: string; source: SourceWithSecret }>;
}

/** The access key a request claims (header or presigned query), before any check. */
export function claimedAccessKey(req: GatewayRequest): string | undefined {
  const authz = req.headers.authorization;
  const m =
    authz === undefined
      ? /(?:^|&)X-Amz-Credential=([^&]*)/.exec(req.rawQuery)
      : /Credential=([^/,\s]+)\//.exec(authz);
  const raw = m?.[1];
  if (raw === undefined) return undefined;
  let v = raw;
  try {
    v = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  return v.split("/")[0];
}

/**
 * Verifies a request's SigV4 signature (header or presigned) against the claimed source's
 * secret, that source's region (`source add --region`; the server region for an unknown key)
 * and the clock window. Refusals are S3 errors; the body is
 * verified later, while it streams.
 */
export async function authenticate(
  req: GatewayRequest,
  sources: SourceStore,
  now: number,
  o: { region: string; maxSkewMs: number },
): Promise<Caller> {
  const akid = claimedAccessKey(req);
  const source = akid === undefined ? undefined : await sources.byAccessKey(akid);
  const result = verifyRequest(
    { method: req.method, path: req.rawPath, query: req.rawQuery, headers: req.headers },
    (id) =>
      source !== undefined && id === source.accessKeyId
        ? { secret: source.secretAccessKey, source }
        : undefined,
    now,
    { region: source?.region ?? o.region, maxSkewMs: o.maxSkewMs },
  );
  if (!result.ok) {
    const code: S3ErrorCode = result.code in S3_ERRORS ? result.code : "InvalidRequest";
    const extra: Record<string, string> = {};
    if (akid !== undefined && (code === "SignatureDoesNotMatch" || code === "InvalidAccessKeyId"))
      extra.AWSAccessKeyId = akid;
    throw new S3Error(code, result.message, extra);
  }
  const src = result.credential.source;
  if (src.disabled) throw new S3Error("AccessDenied", `Source ${src.name} is disabled`);
  return { source: src, accessKeyId: result.accessKeyId, verified: result };
}
