import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import type { Gateway } from "./gateway.ts";
import type { GatewayRequest } from "./request.ts";
import { S3Error } from "./s3/errors.ts";

/**
 * Iterates a request body without destroying the socket when the consumer stops early. When
 * no byte arrives for `idleMs`, it throws `400 RequestTimeout` (as S3) and the connection is
 * closed after the response: a client announcing 60 MB and sending 10 bytes cannot hold a
 * connection open for ever.
 */
async function* bodyOf(
  req: IncomingMessage,
  idleMs: number,
  res: ServerResponse | undefined,
): AsyncIterable<Uint8Array> {
  // `100 Continue` goes out only when the gateway starts reading the body, i.e. after the
  // request was authenticated (the server's checkContinue listener defers it to here).
  if (res !== undefined && /100-continue/i.test(req.headers.expect ?? "") && !res.headersSent)
    res.writeContinue();
  const it = (
    req as Readable & { iterator(o: { destroyOnReturn: boolean }): AsyncIterable<Buffer> }
  )
    .iterator({ destroyOnReturn: false })
    [Symbol.asyncIterator]();
  let received = 0;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new S3Error(
            "RequestTimeout",
            `Your socket connection to the server was not read from or written to within the timeout period (no body data for ${String(Math.round(idleMs / 1000))}s after ${String(received)} bytes).`,
          ),
        );
      }, idleMs);
    });
    let r: IteratorResult<Buffer>;
    try {
      r = await Promise.race([it.next(), timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (r.done === true) break;
    received += r.value.length;
    yield r.value;
  }
  if (!req.complete) throw new Error(`request body aborted after ${received} bytes`);
}

/**
 * Node decodes header bytes as latin1; clients send (and sign) UTF-8. A value whose bytes are
 * valid UTF-8 is re-decoded so the signature check hashes the bytes that were signed.
 */
function utf8Header(v: string): string {
  if (!/[\u0080-\u00ff]/.test(v)) return v;
  const bytes = Buffer.from(v, "latin1");
  const text = bytes.toString("utf8");
  return Buffer.from(text, "utf8").equals(bytes) ? text : v;
}

/** Converts a node:http request into the gateway's request value. */
export function toGatewayRequest(
  req: IncomingMessage,
  o: { bodyIdleMs?: number } = {},
  res?: ServerResponse,
): GatewayRequest {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headersDistinct)) {
    if (v !== undefined) headers[k] = utf8Header(v.join(","));
  }
  return {
    method: req.method ?? "GET",
    rawPath: q < 0 ? url : url.slice(0, q),
    rawQuery: q < 0 ? "" : url.slice(q + 1),
    headers,
    body: bodyOf(req, o.bodyIdleMs ?? DEFAULT_BODY_IDLE_MS, res),
    remoteAddress: req.socket.remoteAddress ?? "",
  };
}

/** Default idle time before a request body times out (config `bodyTimeout`). */
export const DEFAULT_BODY_IDLE_MS = 60_000;

/** A node:http(s) request listener serving `gateway`. */
export function nodeHandler(
  gateway: Gateway,
  o: { bodyIdleMs?: number } = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void (async () => {
      try {
        const r = await gateway.handle(toGatewayRequest(req, o, res));
        // A body left unread (refused before it was read): close rather than wait for it.
        if (!req.complete) r.headers.connection = "close";
        const body = r.body;
        if (typeof body === "string" || body instanceof Uint8Array) {
          const buf = typeof body === "string" ? Buffer.from(body, "utf8") : body;
          if (req.method !== "HEAD" && r.headers["content-length"] === undefined)
            r.headers["content-length"] = String(buf.length);
          res.writeHead(r.status, r.headers);
          res.end(req.method === "HEAD" ? undefined : buf);
          return;
        }
        if (body === undefined) {
          if (r.headers["content-length"] === undefined && r.status !== 204 && r.status !== 304)
            r.headers["content-length"] = "0";
          res.writeHead(r.status, r.headers);
          res.end();
          return;
        }
        res.writeHead(r.status, r.headers);
        for await (const chunk of body) {
          if (!res.write(chunk)) await new Promise((ok) => res.once("drain", ok));
        }
        res.end();
      } catch (err) {
        // The gateway maps every error to a response; reaching here means the socket broke.
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end("internal error\n");
        } else res.destroy(err as Error);
      }
    })();
  };
}
