import { createHash } from "node:crypto";
import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { BrowseTree } from "../browse-tree.ts";
import type { VNode } from "../vnode.ts";
import { parseRange } from "./http-range.ts";
import { type DavEntry, decodePath, encodeHref, httpDate, multistatus } from "./multistatus.ts";
import { BasicAuth } from "./basic-auth.ts";
import type { WebdavUser } from "./users-file.ts";

/** A symlink stored in a snapshot shows as `<name>.rclonelink` holding its target (rclone -l). */
export const LINK_SUFFIX = ".rclonelink";
const ALLOW = "OPTIONS, GET, HEAD, PROPFIND";
const CHUNK = 1024 * 1024;

/** What a request resolved to: a node, or a stored symlink shown as a small file. */
interface Target {
  node: VNode;
  /** The link target, when `node` is a stored symlink served as `.rclonelink`. */
  link?: Buffer;
}

/** Options for {@link webdavHandler}. */
export interface WebdavHandlerOptions {
  /** Users allowed in (HTTP basic auth); undefined: no authentication. */
  users: ReadonlyMap<string, WebdavUser> | undefined;
  /** Reports damaged files (stderr). */
  log: (message: string) => void;
  /** Clock for remembering verified credentials (see BasicAuth). */
  now: () => number;
  /** Called when a request's handling has ended, answered or not (tests count them). */
  onDone?: () => void;
}

function join(dir: Buffer, name: Buffer): Buffer {
  return dir.length === 0 ? name : Buffer.concat([dir, Buffer.from("/"), name]);
}

/**
 * The read-only WebDAV request handler over a {@link BrowseTree}: OPTIONS, PROPFIND (depth
 * 0 and 1), GET and HEAD with single ranges and strong ETags; anything that writes gets 405.
 * The virtual shortcuts (`latest`, `ids/…`) appear as the directories they point at.
 */
export function webdavHandler(
  tree: BrowseTree,
  o: WebdavHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const auth = o.users === undefined ? undefined : new BasicAuth(o.users, o.now);
  const resolveTarget = async (parts: Buffer[]): Promise<Target | undefined> => {
    const node = await tree.resolve(parts);
    if (node !== undefined) return node.kind === "symlink" && node.immutable ? undefined : { node };
    const last = parts.at(-1);
    if (last === undefined || !last.toString("latin1").endsWith(LINK_SUFFIX)) return undefined;
    const base = last.subarray(0, last.length - LINK_SUFFIX.length);
    const link = await tree.resolve([...parts.slice(0, -1), base]);
    if (link?.kind !== "symlink" || !link.immutable || link.linkTarget === undefined)
      return undefined;
    return { node: link, link: link.linkTarget };
  };

  const entryOf = async (
    pathBytes: Buffer,
    t: Target,
    parentParts: Buffer[],
  ): Promise<DavEntry | undefined> => {
    let n = t.node;
    if (n.kind === "symlink" && !n.immutable) {
      const r = await tree.resolve([...parentParts, n.name]);
      if (r === undefined) return undefined;
      n = r;
    }
    if (n.kind === "symlink") {
      const target = n.linkTarget ?? Buffer.alloc(0);
      const name = Buffer.concat([n.name, Buffer.from(LINK_SUFFIX)]);
      return {
        pathBytes: join(
          pathBytes.subarray(0, Math.max(0, pathBytes.length - n.name.length - 1)),
          name,
        ),
        name,
        collection: false,
        size: target.length,
        mtimeNs: n.mtimeNs,
        etag: etagOf(n, target),
      };
    }
    if (n.kind !== "dir" && n.kind !== "file") return undefined;
    return {
      pathBytes,
      name: t.node.name,
      collection: n.kind === "dir",
      size: n.size,
      mtimeNs: n.mtimeNs,
      ...(n.kind === "file" ? { etag: etagOf(n) } : {}),
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (auth !== undefined && !(await auth.check(req.headers.authorization))) {
      res.writeHead(401, {
        "WWW-Authenticate": 'Basic realm="coffer", charset="UTF-8"',
        "Content-Length": 0,
      });
      res.end();
      return;
    }
    const method = req.method ?? "GET";
    if (method === "OPTIONS") {
      res.writeHead(200, { DAV: "1", Allow: ALLOW, "MS-Author-Via": "DAV", "Content-Length": 0 });
      res.end();
      return;
    }
    if (method !== "GET" && method !== "HEAD" && method !== "PROPFIND") {
      res.writeHead(405, { Allow: ALLOW, "Content-Type": "text/plain" });
      res.end("read-only: coffer serves backups, it does not change them\n");
      return;
    }
    const parts = decodePath(req.url ?? "/");
    const target = await resolveTarget(parts);
    if (target === undefined) {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found\n");
      return;
    }
    const pathBytes = Buffer.from(parts.flatMap((p, i) => (i === 0 ? [...p] : [0x2f, ...p])));
    if (method === "PROPFIND") return propfind(req, res, target, parts, pathBytes);
    if (target.node.kind === "dir") return dirPage(res, method, target.node, pathBytes);
    return sendFile(req, res, method, target);
  };

  const propfind = async (
    req: IncomingMessage,
    res: ServerResponse,
    t: Target,
    parts: Buffer[],
    pathBytes: Buffer,
  ): Promise<void> => {
    const depth = req.headers.depth ?? "infinity";
    if (depth !== "0" && depth !== "1") {
      res.writeHead(403, { "Content-Type": "application/xml; charset=utf-8" });
      res.end(
        '<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:propfind-finite-depth/></D:error>\n',
      );
      return;
    }
    const self: DavEntry =
      t.link !== undefined
        ? {
            pathBytes,
            name: parts.at(-1) ?? Buffer.alloc(0),
            collection: false,
            size: t.link.length,
            mtimeNs: t.node.mtimeNs,
            etag: etagOf(t.node, t.link),
          }
        : {
            pathBytes,
            name: parts.at(-1) ?? Buffer.alloc(0),
            collection: t.node.kind === "dir",
            size: t.node.size,
            mtimeNs: t.node.mtimeNs,
            ...(t.node.kind === "file" ? { etag: etagOf(t.node) } : {}),
          };
    const entries = [self];
    if (depth === "1" && t.node.kind === "dir") {
      for (const child of await tree.list(t.node)) {
        const e = await entryOf(join(pathBytes, child.name), { node: child }, parts);
        if (e !== undefined) entries.push(e);
      }
    }
    const body = Buffer.from(multistatus(entries), "utf8");
    res.writeHead(207, {
      "Content-Type": "application/xml; charset=utf-8",
      "Content-Length": body.length,
    });
    res.end(body);
  };

  const dirPage = async (
    res: ServerResponse,
    method: string,
    dir: VNode,
    pathBytes: Buffer,
  ): Promise<void> => {
    const rows = (await tree.list(dir))
      .filter((c) => c.kind === "dir" || c.kind === "file" || c.kind === "symlink")
      .map((c) => {
        const href = `/${encodeHref(join(pathBytes, c.name))}${c.kind === "dir" || !c.immutable ? "/" : ""}`;
        const label = c.name
          .toString("utf8")
          .replace(/[&<>"]/g, (ch) => `&#${String(ch.charCodeAt(0))};`);
        return `<li><a href="${href}">${label}</a></li>`;
      });
    const body = Buffer.from(
      `<!doctype html><meta charset="utf-8"><title>coffer</title><ul>${rows.join("")}</ul>\n`,
      "utf8",
    );
    res.writeHead(200, {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Length": body.length,
    });
    res.end(method === "HEAD" ? undefined : body);
  };

  const sendFile = async (
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    t: Target,
  ): Promise<void> => {
    const n = t.node;
    if (n.kind !== "file" && t.link === undefined) {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not a file\n");
      return;
    }
    const size = t.link?.length ?? n.size;
    const etag = etagOf(n, t.link);
    const common = { ETag: etag, "Last-Modified": httpDate(n.mtimeNs), "Accept-Ranges": "bytes" };
    if (
      req.headers["if-none-match"]
        ?.split(",")
        .some((x) => x.trim() === etag || x.trim() === "*") === true
    ) {
      res.writeHead(304, common);
      res.end();
      return;
    }
    const ifRange = req.headers["if-range"];
    let range = parseRange(
      ifRange === undefined || ifRange === etag ? req.headers.range : undefined,
      size,
    );
    if (range === "unsatisfiable") {
      res.writeHead(416, { ...common, "Content-Range": `bytes */${String(size)}` });
      res.end();
      return;
    }
    const partial = range !== "none";
    if (range === "none") range = { start: 0, end: size - 1 };
    const length = Math.max(0, range.end - range.start + 1);
    const read = (at: number, len: number): Promise<Buffer> =>
      t.link !== undefined ? Promise.resolve(t.link.subarray(at, at + len)) : tree.read(n, at, len);
    // the first chunk before the headers: a damaged start of file is a clean 500
    let first: Buffer;
    try {
      first =
        method === "HEAD" || length === 0
          ? Buffer.alloc(0)
          : await read(range.start, Math.min(CHUNK, length));
    } catch (err) {
      o.log((err as Error).message);
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(`${(err as Error).message}\n`);
      return;
    }
    res.writeHead(partial ? 206 : 200, {
      ...common,
      "Content-Type": "application/octet-stream",
      "Content-Length": length,
      ...(partial
        ? { "Content-Range": `bytes ${String(range.start)}-${String(range.end)}/${String(size)}` }
        : {}),
    });
    if (method === "HEAD") {
      res.end();
      return;
    }
    let pos = range.start;
    let chunk = first;
    // a client that goes away (an aborted or paused-then-dropped download) ends the loop
    const client = { gone: false };
    const closed = once(res, "close").then(
      () => (client.gone = true),
      () => (client.gone = true),
    );
    try {
      for (;;) {
        pos += chunk.length;
        if (!res.write(chunk)) await Promise.race([once(res, "drain"), closed]);
        if (client.gone || res.destroyed) return;
        if (pos > range.end || chunk.length === 0) break;
        chunk = await read(pos, Math.min(CHUNK, range.end + 1 - pos));
      }
      res.end();
    } catch (err) {
      o.log((err as Error).message);
      res.destroy();
    }
  };

  return (req, res) => {
    handle(req, res)
      .catch((err: unknown) => {
        o.log(err instanceof Error ? err.message : String(err));
        if (!res.headersSent) {
          res.writeHead(500, { "Content-Type": "text/plain" });
          res.end("internal error\n");
        } else res.destroy();
      })
      .finally(() => o.onDone?.());
  };
}

/** A strong ETag: snapshot contents never change, so the content's blob IDs name them. */
function etagOf(n: VNode, link?: Buffer): string {
  const h = createHash("sha256");
  if (link !== undefined) h.update("link\0").update(link);
  else if (n.source.t === "file") h.update("file\0").update(n.source.content.join(","));
  else h.update(`ino\0${n.ino.toString()}`);
  return `"${h.digest("hex").slice(0, 32)}"`;
}
