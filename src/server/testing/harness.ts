import { S3Client } from "@aws-sdk/client-s3";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signRequest } from "../../sigv4/sign-request.ts";
import { sha256Hex } from "../../sigv4/signing.ts";
import { applyConfigDocument, type ServerConfig } from "../config.ts";
import { startServer, type RunningServer } from "../server.ts";

/** Credentials of a test source. */
export interface TestCreds {
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** A raw HTTP response. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request for {@link TestGateway.signed}. */
export interface SignedOpts {
  method: string;
  path: string;
  query?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Override x-amz-content-sha256 (UNSIGNED-PAYLOAD, STREAMING-…, a wrong hex). */
  payloadHash?: string;
  /** Signing time; default the server's clock. */
  time?: number;
}

/** A gateway on 127.0.0.1 (plain HTTP, ephemeral port, temp data dir) for tests. */
export interface TestGateway {
  running: RunningServer;
  port: number;
  host: string;
  endpoint: string;
  dataDir: string;
  /** Shift the server's clock (ms) for skew/replay tests. */
  clockOffset: number;
  addSource(name: string): Promise<TestCreds>;
  sdk(c: TestCreds, o?: { virtualHost?: boolean }): S3Client;
  raw(o: {
    method: string;
    path: string;
    headers?: Record<string, string | readonly string[]>;
    body?: Buffer | string;
  }): Promise<RawResponse>;
  signed(c: TestCreds, o: SignedOpts): Promise<RawResponse>;
  close(): Promise<void>;
}

/** Starts a test gateway. `config` entries override the defaults (YAML field names). */
export async function startTestGateway(config: Record<string, unknown> = {}): Promise<TestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), "coffer-gw-"));
  const cfg: ServerConfig = applyConfigDocument(
    { dataDir, listen: "127.0.0.1:0", http: true, ...config },
    "(test)",
  );
  const clock = { offset: 0, now: () => Date.now() + clock.offset };
  const running = await startServer(cfg, { clock });
  const port = running.port;
  const host = `127.0.0.1:${port}`;
  const raw: TestGateway["raw"] = (o) =>
    new Promise((resolve, reject) => {
      const r = request(
        {
          host: "127.0.0.1",
          port,
          method: o.method,
          path: o.path,
          headers: o.headers as Record<string, string>,
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on("data", (c: Buffer) => parts.push(c));
          res.on("end", () => {
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(parts),
            });
          });
          res.on("error", reject);
        },
      );
      r.on("error", reject);
      r.end(o.body);
    });
  const gw: TestGateway = {
    running,
    port,
    host,
    endpoint: `http://${host}`,
    dataDir,
    get clockOffset() {
      return clock.offset;
    },
    set clockOffset(v: number) {
      clock.offset = v;
    },
    async addSource(name) {
      const s = await running.metadata.sources.add(
        {
          name,
          region: cfg.region,
          scratchPrefixes: cfg.scratchPrefixes,
          deletionDelayMs: cfg.minDeletionDelayMs,
        },
        clock.now(),
      );
      return { bucket: s.bucket, accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey };
    },
    sdk(c, o = {}) {
      return new S3Client({
        endpoint: o.virtualHost === true ? `http://localhost:${port}` : `http://${host}`,
        region: "us-east-1",
        forcePathStyle: o.virtualHost !== true,
        credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
        maxAttempts: 1,
      });
    },
    raw,
    signed(c, o) {
      const body = o.body === undefined ? Buffer.alloc(0) : Buffer.from(o.body);
      const headers: Record<string, string> = { host, ...(o.headers ?? {}) };
      if (o.body !== undefined && headers["content-length"] === undefined)
        headers["content-length"] = String(body.length);
      const s = signRequest(
        {
          method: o.method,
          path: o.path,
          query: o.query ?? "",
          headers,
          payloadHash: o.payloadHash ?? sha256Hex(body),
        },
        { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
        { region: "us-east-1", time: o.time ?? clock.now() },
      );
      return raw({
        method: o.method,
        path: o.query ? `${o.path}?${o.query}` : o.path,
        headers: s.headers,
        body,
      });
    },
    async close() {
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return gw;
}

/**
 * Sends a request head and only `sent` bytes of a body promising more, then half-closes the
 * socket: a truncated upload. Resolves with the raw response text (or "" if none).
 */
export function sendTruncated(port: number, head: string, body: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1", () => {
      sock.write(head);
      sock.end(body);
    });
    const parts: Buffer[] = [];
    sock.on("data", (c: Buffer) => parts.push(c));
    sock.on("close", () => {
      resolve(Buffer.concat(parts).toString("utf8"));
    });
    sock.on("error", () => {
      resolve(Buffer.concat(parts).toString("utf8"));
    });
  });
}

/** The text of `<tag>` in an XML response body. */
export function xmlField(body: Buffer | string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(body.toString())?.[1];
}
