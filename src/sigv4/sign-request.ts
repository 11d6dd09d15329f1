import { formatAmzDate } from "./amz-date.ts";
import { canonicalRequest } from "./canonical-request.ts";
import {
  deriveSigningKey,
  sha256Hex,
  signature,
  stringToSign,
  type Scope,
  scopeString,
} from "./signing.ts";

/** Access key pair used to sign. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A request to sign. `headers` must include `host`. */
export interface RequestToSign {
  readonly method: string;
  /** Path as it will be sent on the wire (already percent-encoded as desired). */
  readonly path: string;
  /** Raw query without `?`. */
  readonly query?: string;
  /** Header names in any case; repeated headers as arrays. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** Body to hash; ignored when `payloadHash` is given. */
  readonly body?: string | Uint8Array;
  /** `x-amz-content-sha256` value: hex, `UNSIGNED-PAYLOAD` or a `STREAMING-...` mode. */
  readonly payloadHash?: string;
}

/** Signing options. */
export interface SignOptions {
  readonly region: string;
  /** Default `s3`. */
  readonly service?: string;
  /** Signing time, epoch ms. */
  readonly time: number;
  /** Headers to sign (lower-case); default every header given (after adding the x-amz ones). */
  readonly signedHeaders?: readonly string[];
  /** Send a `Date` header instead of `x-amz-date` (the AWS PUT example does both). */
  readonly omitAmzDate?: boolean;
}

/** A signed request: the headers to send and the values an aws-chunked body chains from. */
export interface SignedRequest {
  /** Lower-case headers including `authorization`, `x-amz-date`, `x-amz-content-sha256`. */
  readonly headers: Record<string, string | readonly string[]>;
  readonly signature: string;
  readonly signingKey: Buffer;
  readonly scope: Scope;
  readonly amzDate: string;
  readonly canonicalRequest: string;
}

/** Lower-cases header names (merging repeats into arrays). */
export function lowerHeaders(
  h: Readonly<Record<string, string | readonly string[]>>,
): Record<string, string | readonly string[]> {
  const out: Record<string, string | readonly string[]> = {};
  for (const [k, v] of Object.entries(h)) {
    const name = k.toLowerCase();
    const prev = out[name];
    out[name] =
      prev === undefined
        ? v
        : [...(typeof prev === "string" ? [prev] : prev), ...(typeof v === "string" ? [v] : v)];
  }
  return out;
}

/**
 * Signs `req` with SigV4 `Authorization` header auth (S3 rules). For tests and tools; the
 * storage backend uses the AWS SDK.
 */
export function signRequest(
  req: RequestToSign,
  creds: Credentials,
  opts: SignOptions,
): SignedRequest {
  const amzDate = formatAmzDate(opts.time);
  const scope: Scope = {
    date: amzDate.slice(0, 8),
    region: opts.region,
    service: opts.service ?? "s3",
  };
  const headers = lowerHeaders(req.headers);
  if (!(opts.omitAmzDate ?? false)) headers["x-amz-date"] = amzDate;
  const payloadHash = req.payloadHash ?? sha256Hex(req.body ?? "");
  headers["x-amz-content-sha256"] = payloadHash;
  if (creds.sessionToken !== undefined) headers["x-amz-security-token"] = creds.sessionToken;
  delete headers.authorization;
  const signedHeaders = opts.signedHeaders ?? Object.keys(headers);
  const creq = canonicalRequest({
    method: req.method,
    path: req.path,
    query: req.query ?? "",
    headers,
    signedHeaders,
    payloadHash,
  });
  const signingKey = deriveSigningKey(creds.secretAccessKey, scope);
  const sig = signature(signingKey, stringToSign(amzDate, scope, creq));
  const sh = [...new Set(signedHeaders.map((s) => s.toLowerCase()))].sort().join(";");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scopeString(scope)}, SignedHeaders=${sh}, Signature=${sig}`;
  return { headers, signature: sig, signingKey, scope, amzDate, canonicalRequest: creq };
}
