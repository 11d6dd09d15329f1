import type { Caller } from "../auth.ts";
import type { RequestContext } from "../context.ts";
import type { GatewayResponse } from "../request.ts";
import { isoTime, xmlResponse } from "./common.ts";

/** ListBuckets: a source sees exactly its own bucket. */
export function listBuckets(caller: Caller): GatewayResponse {
  const s = caller.source;
  return xmlResponse("ListAllMyBucketsResult", {
    Owner: { ID: s.accessKeyId, DisplayName: s.name },
    Buckets: { Bucket: [{ Name: s.bucket, CreationDate: isoTime(s.createdAt) }] },
  });
}

/** HeadBucket: 200 with the bucket's region. */
export function headBucket(ctx: RequestContext): GatewayResponse {
  return { status: 200, headers: { "x-amz-bucket-region": ctx.caller.source.region } };
}

/** GetBucketLocation: the source's region (empty for us-east-1, as S3 does). */
export function getBucketLocation(ctx: RequestContext): GatewayResponse {
  const region = ctx.caller.source.region;
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${region === "us-east-1" ? "" : region}</LocationConstraint>`;
  return { status: 200, headers: { "content-type": "application/xml" }, body };
}
