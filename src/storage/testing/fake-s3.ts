import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttps } from "node:https";
import type { AddressInfo } from "node:net";

/**
 * A tiny in-memory S3 look-alike over HTTP(S), a unit-test convenience for S3Storage's
 * request building, paging, error mapping and retries. It does not check signatures; the
 * real end-to-end run is `s3.test.ts` against the coffer gateway or any S3 service.
 */
export interface FakeS3Options {
  /** TLS key and certificate (PEM) to serve HTTPS. */
  tls?: { key: string; cert: string };
  /** Behave like a server that ignores `If-None-Match` (overwrites silently). */
  ignoreIfNoneMatch?: boolean;
  /** Ignore `Range` and always send the whole object. */
  ignoreRange?: boolean;
  /** ListObjectsV2 page size cap (default 1000, like S3). */
  maxKeys?: number;
}

export interface RecordedRequest {
  method: string;
  host: string;
  path: string;
  headers: IncomingMessage["headers"];
}

type Fault = { kind: "status"; status: number; code: string } | { kind: "reset" };

export class FakeS3 {
  readonly buckets = new Map<string, Map<string, Buffer>>();
  readonly requests: RecordedRequest[] = [];
  readonly #faults: Fault[] = [];
  readonly #server: Server;
  readonly #options: FakeS3Options;

  private constructor(options: FakeS3Options) {
    this.#options = options;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.#handle(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    };
    this.#server = options.tls ? createHttps(options.tls, handler) : createHttp(handler);
  }

  /** Starts a server on a random loopback port with the given buckets. */
  static async start(buckets: string[], options: FakeS3Options = {}): Promise<FakeS3> {
    const s3 = new FakeS3(options);
    for (const b of buckets) s3.buckets.set(b, new Map());
    await new Promise<void>((resolve) => s3.#server.listen(0, "127.0.0.1", resolve));
    return s3;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get endpoint(): string {
    return `${this.#options.tls ? "https" : "http"}://127.0.0.1:${this.port}`;
  }

  /** The next `count` requests fail with `status`/`code`. */
  failNext(count: number, status: number, code = "InternalError"): void {
    for (let i = 0; i < count; i++) this.#faults.push({ kind: "status", status, code });
  }

  /** The next `count` requests have their connection reset (ECONNRESET at the client). */
  resetNext(count: number): void {
    for (let i = 0; i < count; i++) this.#faults.push({ kind: "reset" });
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.#server.close(() => {
        resolve();
      }),
    );
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://x");
    const host = req.headers.host ?? "";
    this.requests.push({
      method: req.method ?? "",
      host,
      path: url.pathname,
      headers: req.headers,
    });

    const fault = this.#faults.shift();
    if (fault?.kind === "reset") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "status") {
      this.#error(res, fault.status, fault.code);
      return;
    }

    // Virtual-host when the Host has a bucket label in front, else path-style.
    const hostName = host.replace(/:\d+$/, "");
    const labels = hostName.split(".");
    let bucketName: string;
    let key: string;
    if (labels.length > 1 && !/^\d+$/.test(labels.at(-1)!)) {
      bucketName = labels[0]!;
      key = decodeURIComponent(url.pathname.slice(1));
    } else {
      const [, b = "", ...rest] = url.pathname.split("/");
      bucketName = decodeURIComponent(b);
      key = rest.map((s) => decodeURIComponent(s)).join("/");
    }
    const bucket = this.buckets.get(bucketName);
    if (!bucket) {
      this.#error(res, 404, "NoSuchBucket");
      return;
    }

    if (req.method === "GET" && key === "" && url.searchParams.get("list-type") === "2") {
      this.#list(res, bucket, url.searchParams);
      return;
    }
    const obj = bucket.get(key);
    switch (req.method) {
      case "HEAD":
      case "GET": {
        if (!obj) {
          this.#error(res, 404, req.method === "HEAD" ? "NotFound" : "NoSuchKey");
          return;
        }
        res.setHeader("ETag", '"e"');
        const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
        if (range && !this.#options.ignoreRange && req.method === "GET") {
          const start = Number(range[1]);
          if (start >= obj.length) {
            this.#error(res, 416, "InvalidRange");
            return;
          }
          const end = Math.min(Number(range[2]), obj.length - 1);
          res.statusCode = 206;
          res.setHeader("Content-Range", `bytes ${start}-${end}/${obj.length}`);
          res.setHeader("Content-Length", end - start + 1);
          res.end(obj.subarray(start, end + 1));
          return;
        }
        res.setHeader("Content-Length", obj.length);
        res.end(req.method === "GET" ? obj : undefined);
        return;
      }
      case "PUT": {
        if (obj && req.headers["if-none-match"] === "*" && !this.#options.ignoreIfNoneMatch) {
          this.#error(res, 412, "PreconditionFailed");
          return;
        }
        bucket.set(key, body);
        res.setHeader("ETag", '"e"');
        res.end();
        return;
      }
      case "DELETE":
        bucket.delete(key);
        res.statusCode = 204;
        res.end();
        return;
      default: {
        this.#error(res, 405, "MethodNotAllowed");
        return;
      }
    }
  }

  #list(res: ServerResponse, bucket: Map<string, Buffer>, q: URLSearchParams): void {
    const prefix = q.get("prefix") ?? "";
    const max = Math.min(Number(q.get("max-keys") ?? 1000), this.#options.maxKeys ?? 1000);
    const after = q.get("continuation-token") ?? "";
    const keys = [...bucket.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const page = keys.slice(0, max);
    const truncated = keys.length > page.length;
    const esc = (s: string): string =>
      s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    const contents = page
      .map((k) => `<Contents><Key>${esc(k)}</Key><Size>${bucket.get(k)!.length}</Size></Contents>`)
      .join("");
    res.setHeader("Content-Type", "application/xml");
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Prefix>${esc(prefix)}</Prefix>` +
        `<KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
        (truncated ? `<NextContinuationToken>${esc(page.at(-1)!)}</NextContinuationToken>` : "") +
        `${contents}</ListBucketResult>`,
    );
  }

  #error(res: ServerResponse, status: number, code: string): void {
    res.statusCode = status;
    res.setHeader("Content-Type", "application/xml");
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code>` +
        `<Message>${code}</Message><RequestId>fake</RequestId></Error>`,
    );
  }
}
