import { readFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { CofferError, fromSystemError } from "../../core/errors.ts";
import { hashUserLine, parseUsersFile } from "../../vfs/webdav/users-file.ts";
import { parseListen, startWebdav } from "../../vfs/webdav/webdav-server.ts";
import { type Command, flag, str } from "../command.ts";
import type { CliContext } from "../context.ts";
import { aborted, blobCacheOption, openBrowseTree, withSighup } from "./mount.ts";
import { filterOptions } from "./snapshot-filter.ts";

async function readText(ctx: CliContext, file: string): Promise<Buffer> {
  const path = resolve(ctx.io.cwd, file);
  try {
    return await readFile(path);
  } catch (err) {
    throw fromSystemError(err, `Cannot read ${path}`);
  }
}

async function readStdin(ctx: CliContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.io.stdin) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString("utf8").split("\n")[0]?.replace(/\r$/, "") ?? "";
}

/** `coffer serve webdav`: the browse tree over read-only WebDAV until Ctrl-C. */
export const serveCommand: Command = {
  name: "serve",
  summary: "serve the repository read-only over WebDAV (serve webdav)",
  usage:
    "serve webdav [--listen HOST:PORT] [--users FILE] [--tls-cert FILE --tls-key FILE] [--host H] [--tag T] [--path P] | serve webdav --hash-password NAME",
  options: {
    listen: {
      type: "string",
      arg: "HOST:PORT",
      help: "address to listen on (default 127.0.0.1:8080)",
    },
    users: {
      type: "string",
      arg: "FILE",
      help: "users allowed in with HTTP basic auth, one `name:$scrypt$…` line each",
    },
    "tls-cert": { type: "string", arg: "FILE", help: "serve HTTPS with this certificate (PEM)" },
    "tls-key": { type: "string", arg: "FILE", help: "the certificate's private key (PEM)" },
    "hash-password": {
      type: "boolean",
      help: "print a users-file line for NAME with the password read from stdin, and exit",
    },
    ...filterOptions,
    ...blobCacheOption,
  },
  async run(ctx, args) {
    const [sub, name, extra] = args.positionals;
    if (sub !== "webdav")
      throw new CofferError("BAD_INPUT", "serve: the only server is webdav (coffer serve webdav)");
    if (flag(args, "hash-password")) {
      if (name === undefined || extra !== undefined)
        throw new CofferError("BAD_INPUT", "serve webdav --hash-password: give one user name");
      const password = await readStdin(ctx);
      if (password.length < 8)
        throw new CofferError(
          "BAD_INPUT",
          "serve webdav --hash-password: give a password of at least 8 characters on stdin",
        );
      ctx.out.line(await hashUserLine(name, password, (n) => randomBytes(n)));
      return 0;
    }
    if (name !== undefined)
      throw new CofferError("BAD_INPUT", `serve webdav: unexpected argument ${name}`);
    const listen = parseListen(str(args, "listen") ?? "127.0.0.1:8080");
    const usersFile = str(args, "users");
    const users =
      usersFile === undefined
        ? undefined
        : parseUsersFile((await readText(ctx, usersFile)).toString("utf8"), usersFile);
    if (users?.size === 0)
      throw new CofferError(
        "BAD_INPUT",
        `Cannot read users file ${usersFile ?? ""}: it names no user`,
      );
    const cert = str(args, "tls-cert");
    const key = str(args, "tls-key");
    if ((cert === undefined) !== (key === undefined))
      throw new CofferError(
        "BAD_INPUT",
        "serve webdav: give both --tls-cert and --tls-key, or neither",
      );
    const tls =
      cert !== undefined && key !== undefined
        ? { cert: await readText(ctx, cert), key: await readText(ctx, key) }
        : undefined;
    const tree = await openBrowseTree(ctx, args);
    const server = await startWebdav(tree, {
      listen,
      users,
      tls,
      log: (msg) => ctx.io.stderr.write(`coffer: ${msg}\n`),
      now: () => ctx.io.clock.now(),
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
    ctx.out.info(
      `serving ${String(tree.layout.snapshots.length)} snapshots read-only over WebDAV at ${tls ? "https" : "http"}://${host}:${String(addr.port)}/${users ? "" : " (no authentication)"}; Ctrl-C stops`,
    );
    if (ctx.out.json)
      ctx.out.data({
        message_type: "listening",
        url: `${tls ? "https" : "http"}://${host}:${String(addr.port)}/`,
      });
    return withSighup(ctx, tree, async () => {
      await aborted(ctx.io.signal);
      server.close();
      server.closeAllConnections();
      ctx.out.info("stopped");
      return 0;
    });
  },
};
