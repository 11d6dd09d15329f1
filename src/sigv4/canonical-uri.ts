import { percentDecode, uriEncode } from "./uri-encode.ts";

/**
 * The canonical URI of a request path, using S3's rules: the raw path (as sent on the wire,
 * without the query) is percent-decoded once and re-encoded once with `/` kept. S3 does not
 * normalise the path (`.`/`..` segments and repeated slashes are significant) and does not
 * double-encode. An empty path is `/`.
 */
export function canonicalUri(rawPath: string): string {
  if (rawPath === "") return "/";
  return uriEncode(percentDecode(rawPath), true);
}
