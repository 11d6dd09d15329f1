import { createServer as createHttp, type Server } from "node:http";
import { createServer as createHttps } from "node:https";
import { isIP } from "node:net";
import { CofferError } from "../../core/errors.ts";
import type { BrowseTree } from "../browse-tree.ts";
import { webdavHandler } from "./webdav-handler.ts";
import type { WebdavUser } from "./users-file.ts";

/** A parsed `--listen` address. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses `HOST:PORT` or `[IPv6]:PORT`. @throws CofferError BAD_INPUT */
export function parseListen(s: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  const port = Number(m?.[3]);
  if (m === null || port > 65535)
    throw new CofferError("BAD_INPUT", `--listen ${s}: expected HOST:PORT, e.g. 127.0.0.1:8080`);
  return { host: m[1] ?? m[2]!, port };
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  return isIP(host) === 4 && host.startsWith("127.");
}

/** Options for {@link startWebdav}. */
export interface WebdavServerOptions {
  listen: ListenAddress;
  users: ReadonlyMap<string, WebdavUser> | undefined;
  tls: { cert: Buffer; key: Buffer } | undefined;
  log: (message: string) => void;
  /** Clock (milliseconds) for remembering verified credentials. */
  now: () => number;
}

/**
 * Starts the read-only WebDAV server. A non-loopback address is refused unless both users
 * (basic auth) and TLS are configured: passwords and backups must not cross a network in
 * the clear, nor be open to anyone who can reach the port.
 * @throws CofferError BAD_INPUT (refused address), IO (cannot listen).
 */
export async function startWebdav(tree: BrowseTree, o: WebdavServerOptions): Promise<Server> {
  if (!isLoopback(o.listen.host) && (o.users === undefined || o.tls === undefined)) {
    throw new CofferError(
      "BAD_INPUT",
      `Refusing to serve on ${o.listen.host}, which is not a loopback address, without both --users and --tls-cert/--tls-key`,
    );
  }
  const handler = webdavHandler(tree, { users: o.users, log: o.log, now: o.now });
  const server: Server =
    o.tls !== undefined
      ? createHttps({ cert: o.tls.cert, key: o.tls.key }, handler)
      : createHttp(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => {
      reject(
        new CofferError(
          "IO",
          `Cannot listen on ${o.listen.host}:${String(o.listen.port)}: ${err.message}`,
          { cause: err },
        ),
      );
    });
    server.listen(o.listen.port, o.listen.host, resolve);
  });
  return server;
}
