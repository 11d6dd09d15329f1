import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import type { Gateway } from "./gateway.ts";
import type { GatewayRequest } from "./request.ts";

/** Iterates a request body without destroying the socket when the consumer stops early. */
async function* bodyOf(req: IncomingMessage): AsyncIterable<Uint8Array> {
  const it = (
    req as Readable & { iterator(o: { destroyOnReturn: boolean }): AsyncIterable<Buffer> }
  ).iterator({
    destroyOnReturn: false,
  });
  let received = 0;
  for await (const chunk of it as AsyncIterable<Buffer>) {
    received += chunk.length;
    yield chunk;
  }
  if (!req.complete) throw new Error(`request body aborted after ${received} bytes`);
}

/** Converts a node:http request into the gateway's request value. */
export function toGatewayRequest(req: IncomingMessage): GatewayRequest {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headersDistinct)) {
    if (v !== undefined) headers[k] = v.join(",");
  }
  return {
    method: req.method ?? "GET",
    rawPath: q < 0 ? url : url.slice(0, q),
    rawQuery: q < 0 ? "" : url.slice(q + 1),
    headers,
    body: bodyOf(req),
    remoteAddress: req.socket.remoteAddress ?? "",
  };
}

/** A node:http(s) request listener serving `gateway`. */
export function nodeHandler(gateway: Gateway): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void (async () => {
      try {
        const r = await gateway.handle(toGatewayRequest(req));
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
