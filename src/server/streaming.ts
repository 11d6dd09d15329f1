import type { Caller } from "./auth.ts";
import type { PayloadDecoder } from "./body.ts";
import type { GatewayRequest } from "./request.ts";
import { S3Error } from "./s3/errors.ts";

/** The aws-chunked decoder for streaming payload modes (wired to src/sigv4). */
export function streamingDecoder(_req: GatewayRequest, _caller: Caller, _rawLength: number | undefined): PayloadDecoder {
  throw new S3Error("NotImplemented", "aws-chunked uploads are not wired yet");
}
