import { formatAmzDate } from "./amz-date.ts";
import { canonicalQuery } from "./canonical-query.ts";
import { canonicalRequest } from "./canonical-request.ts";
import type { Credentials } from "./sign-request.ts";
import { lowerHeaders } from "./sign-request.ts";
import { deriveSigningKey, signature, stringToSign, type Scope, scopeString } from "./signing.ts";
import { uriEncode } from "./uri-encode.ts";

/** A request to presign. `headers` must include `host`. */
export interface RequestToPresign {
  readonly method: string;
  readonly path: string;
  readonly query?: string;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
}

/** Presigning options. */
export interface PresignOptions {
  readonly region: string;
  readonly service?: string;
  /** Signing time, epoch ms. */
  readonly time: number;
  /** `X-Amz-Expires`, seconds (1..604800). */
  readonly expiresSeconds: number;
  /** Headers to sign; default every header given. */
  readonly signedHeaders?: readonly string[];
}

/** A presigned request. */
export interface PresignedUrl {
  /** Raw query string (without `?`), including `X-Amz-Signature`. */
  readonly query: string;
  /** `path?query`. */
  readonly pathAndQuery: string;
  readonly signature: string;
  readonly scope: Scope;
  readonly amzDate: string;
}

/** Presigns `req` (query-string auth, payload `UNSIGNED-PAYLOAD`), as S3 expects. */
export function presignUrl(
  req: RequestToPresign,
  creds: Credentials,
  opts: PresignOptions,
): PresignedUrl {
  const amzDate = formatAmzDate(opts.time);
  const scope: Scope = {
    date: amzDate.slice(0, 8),
    region: opts.region,
    service: opts.service ?? "s3",
  };
  const headers = lowerHeaders(req.headers);
  const signed = [
    ...new Set((opts.signedHeaders ?? Object.keys(headers)).map((h) => h.toLowerCase())),
  ].sort();
  const extra: [string, string][] = [
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", `${creds.accessKeyId}/${scopeString(scope)}`],
    ["X-Amz-Date", amzDate],
    ["X-Amz-Expires", String(opts.expiresSeconds)],
    ...(creds.sessionToken !== undefined
      ? ([["X-Amz-Security-Token", creds.sessionToken]] as [string, string][])
      : []),
    ["X-Amz-SignedHeaders", signed.join(";")],
  ];
  const base = req.query ?? "";
  const added = extra.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join("&");
  const query = canonicalQuery(base === "" ? added : `${base}&${added}`);
  const creq = canonicalRequest({
    method: req.method,
    path: req.path,
    query,
    headers,
    signedHeaders: signed,
    payloadHash: "UNSIGNED-PAYLOAD",
  });
  const sig = signature(
    deriveSigningKey(creds.secretAccessKey, scope),
    stringToSign(amzDate, scope, creq),
  );
  const full = `${query}&X-Amz-Signature=${sig}`;
  return { query: full, pathAndQuery: `${req.path}?${full}`, signature: sig, scope, amzDate };
}
