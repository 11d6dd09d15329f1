import type { Clock } from "../core/deps.ts";
import type { Caller } from "./auth.ts";
import type { ServerConfig } from "./config.ts";
import type { Metadata } from "./metadata.ts";
import type { ObjectStore } from "./object-store.ts";
import type { GatewayRequest } from "./request.ts";
import type { Operation, Target } from "./route.ts";

/** Everything a gateway operation needs; built once per server. */
export interface GatewayDeps {
  config: ServerConfig;
  metadata: Metadata;
  objects: ObjectStore;
  clock: Clock;
  /** Temp files for bodies being verified (same file system as staging). */
  tmpDir: string;
  /** Multipart parts: `<stagingDir>/<uploadId>/<partNumber>`. */
  stagingDir: string;
}

/** One authenticated request on its way through an operation. */
export interface RequestContext {
  deps: GatewayDeps;
  req: GatewayRequest;
  target: Target & { bucket: string };
  op: Operation;
  caller: Caller;
  requestId: string;
  now: number;
}

/** Context for object-level operations. */
export type ObjectContext = RequestContext & { target: { key: string } };
