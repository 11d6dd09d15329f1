import type { Scope } from "./signing.ts";

/** The parts of a SigV4 `Authorization` header or presigned query. */
export interface ParsedAuth {
  readonly accessKeyId: string;
  readonly scope: Scope;
  /** Lower-case signed header names, in the order given. */
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** Result of parsing: the auth parts, or a one-line reason. */
export type ParseResult = { ok: true; auth: ParsedAuth } | { ok: false; message: string };

/** The only algorithm supported. */
export const ALGORITHM = "AWS4-HMAC-SHA256";

/** Parses `AKID/YYYYMMDD/region/service/aws4_request`. */
export function parseCredential(
  credential: string,
): { accessKeyId: string; scope: Scope } | string {
  const parts = credential.split("/");
  if (parts.length !== 5)
    return `credential '${credential}' is not of the form AKID/date/region/service/aws4_request`;
  const [accessKeyId, date, region, service, terminal] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (accessKeyId === "") return "credential has an empty access key";
  if (!/^\d{8}$/.test(date)) return `credential date '${date}' is not YYYYMMDD`;
  if (region === "") return "credential has an empty region";
  if (service === "") return "credential has an empty service";
  if (terminal !== "aws4_request")
    return `credential must end with aws4_request, not '${terminal}'`;
  return { accessKeyId, scope: { date, region, service } };
}

function parseSignedHeaders(s: string): string[] | string {
  if (s === "") return "SignedHeaders is empty";
  const list = s.split(";");
  for (const h of list) {
    if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(h))
      return `SignedHeaders entry '${h}' is not a lower-case header name`;
  }
  return list;
}

function finish(
  cred: string | undefined,
  signed: string | undefined,
  sig: string | undefined,
): ParseResult {
  if (cred === undefined) return { ok: false, message: "missing Credential" };
  if (signed === undefined) return { ok: false, message: "missing SignedHeaders" };
  if (sig === undefined) return { ok: false, message: "missing Signature" };
  const c = parseCredential(cred);
  if (typeof c === "string") return { ok: false, message: c };
  const sh = parseSignedHeaders(signed);
  if (typeof sh === "string") return { ok: false, message: sh };
  if (!/^[0-9a-f]{64}$/.test(sig))
    return { ok: false, message: "Signature is not 64 lower-case hex digits" };
  return {
    ok: true,
    auth: { accessKeyId: c.accessKeyId, scope: c.scope, signedHeaders: sh, signature: sig },
  };
}

/**
 * Parses `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` (components
 * separated by commas and/or spaces, in any order, each at most once).
 */
export function parseAuthorizationHeader(header: string): ParseResult {
  const h = header.trim();
  if (!h.startsWith(ALGORITHM + " "))
    return { ok: false, message: `unsupported algorithm, expected ${ALGORITHM}` };
  const fields = new Map<string, string>();
  for (const part of h.slice(ALGORITHM.length).split(/[,\s]+/)) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) return { ok: false, message: `malformed component '${part}'` };
    const k = part.slice(0, eq);
    if (fields.has(k)) return { ok: false, message: `duplicate component ${k}` };
    fields.set(k, part.slice(eq + 1));
  }
  for (const k of fields.keys()) {
    if (k !== "Credential" && k !== "SignedHeaders" && k !== "Signature")
      return { ok: false, message: `unknown component ${k}` };
  }
  return finish(fields.get("Credential"), fields.get("SignedHeaders"), fields.get("Signature"));
}

/** Parses the `X-Amz-Credential`, `X-Amz-SignedHeaders`, `X-Amz-Signature` query parameters. */
export function parsePresignedQuery(q: ReadonlyMap<string, string>): ParseResult {
  const alg = q.get("X-Amz-Algorithm");
  if (alg !== ALGORITHM) return { ok: false, message: `X-Amz-Algorithm must be ${ALGORITHM}` };
  return finish(q.get("X-Amz-Credential"), q.get("X-Amz-SignedHeaders"), q.get("X-Amz-Signature"));
}
