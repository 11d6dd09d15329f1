import { S3Error } from "./s3/errors.ts";
import { parseQuery } from "./request.ts";

/** Where a request points: the service, a bucket, or an object. */
export interface Target {
  /** The bucket, or `undefined` for the service (ListBuckets). */
  bucket?: string;
  /** The object key (decoded), or `undefined` for bucket-level requests. */
  key?: string;
  /** True when the bucket came from the Host header. */
  virtualHost: boolean;
  query: Map<string, string>;
}

/** The S3 operations the gateway knows. */
export type Operation =
  | "ListBuckets"
  | "HeadBucket"
  | "GetBucketLocation"
  | "ListObjectsV2"
  | "ListObjects"
  | "ListMultipartUploads"
  | "CreateBucket"
  | "DeleteBucket"
  | "DeleteObjects"
  | "GetObject"
  | "HeadObject"
  | "PutObject"
  | "DeleteObject"
  | "CreateMultipartUpload"
  | "UploadPart"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload"
  | "ListParts"
  | "Unsupported";

function decodePath(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error("InvalidArgument", "The request path is not valid percent-encoding");
  }
}

/**
 * Splits a request into bucket and key. Virtual-host style (`bucket.gateway.example:8443`)
 * is recognised when the Host's first label is a bucket that `isBucket` knows and the host
 * is not an IP address; otherwise the first path segment is the bucket (path style).
 */
export function resolveTarget(
  rawPath: string,
  rawQuery: string,
  host: string | undefined,
  isBucket: (name: string) => boolean,
): Target {
  const query = parseQuery(rawQuery);
  const hostname = (host ?? "").replace(/:\d+$/, "").toLowerCase();
  const dot = hostname.indexOf(".");
  const isIp = /^[\d.]+$/.test(hostname) || hostname.startsWith("[");
  if (!rawPath.startsWith("/"))
    throw new S3Error("InvalidRequest", "The request target must be an absolute path");
  const path = rawPath.slice(1);
  if (!isIp && dot > 0) {
    const label = hostname.slice(0, dot);
    if (isBucket(label)) {
      return path === ""
        ? { bucket: label, virtualHost: true, query }
        : { bucket: label, key: decodePath(path), virtualHost: true, query };
    }
  }
  if (path === "") return { virtualHost: false, query };
  const slash = path.indexOf("/");
  if (slash < 0) return { bucket: decodePath(path), virtualHost: false, query };
  const bucket = decodePath(path.slice(0, slash));
  const key = path.slice(slash + 1);
  return key === ""
    ? { bucket, virtualHost: false, query }
    : { bucket, key: decodePath(key), virtualHost: false, query };
}

/** Names the operation from method, target and sub-resources. */
export function operationOf(method: string, t: Target): Operation {
  const q = t.query;
  if (t.bucket === undefined) return method === "GET" ? "ListBuckets" : "Unsupported";
  if (t.key === undefined) {
    switch (method) {
      case "HEAD":
        return "HeadBucket";
      case "GET":
        if (q.has("location")) return "GetBucketLocation";
        if (q.has("uploads")) return "ListMultipartUploads";
        if (q.get("list-type") === "2") return "ListObjectsV2";
        if (
          [...q.keys()].some(
            (k) =>
              !["prefix", "delimiter", "marker", "max-keys", "encoding-type"].includes(k) &&
              !k.startsWith("X-Amz-") &&
              k !== "x-id",
          )
        ) {
          return "Unsupported";
        }
        return "ListObjects";
      case "PUT":
        return q.size === 0 ? "CreateBucket" : "Unsupported";
      case "DELETE":
        return q.size === 0 ? "DeleteBucket" : "Unsupported";
      case "POST":
        return q.has("delete") ? "DeleteObjects" : "Unsupported";
      default:
        return "Unsupported";
    }
  }
  switch (method) {
    case "GET":
      if (q.has("uploadId")) return "ListParts";
      if (
        q.has("acl") ||
        q.has("tagging") ||
        q.has("attributes") ||
        q.has("retention") ||
        q.has("legal-hold")
      )
        return "Unsupported";
      return "GetObject";
    case "HEAD":
      return "HeadObject";
    case "PUT":
      if (q.has("partNumber") && q.has("uploadId")) return "UploadPart";
      if (q.has("acl") || q.has("tagging") || q.has("retention") || q.has("legal-hold"))
        return "Unsupported";
      return "PutObject";
    case "POST":
      if (q.has("uploads")) return "CreateMultipartUpload";
      if (q.has("uploadId")) return "CompleteMultipartUpload";
      return "Unsupported";
    case "DELETE":
      if (q.has("uploadId")) return "AbortMultipartUpload";
      return "DeleteObject";
    default:
      return "Unsupported";
  }
}
