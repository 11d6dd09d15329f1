import { unlink } from "node:fs/promises";
import { createConnection, createServer, type Server } from "node:net";
import { CofferError } from "../core/errors.ts";

/** A request to the running agent over its control socket (one JSON line). */
export type ControlRequest = { op: "status" } | { op: "run-now"; job: string } | { op: "ping" };

/** The agent's answer (one JSON line). */
export interface ControlReply {
  ok: boolean;
  message?: string;
  [field: string]: unknown;
}

/**
 * Listens on the unix socket `path` (never a network port) for control requests. A socket
 * left by an agent that died is replaced; one that answers means an agent is running, and
 * this refuses to start a second one on the same state directory.
 */
export async function listenControl(
  path: string,
  handle: (r: ControlRequest) => ControlReply,
): Promise<Server> {
  const other = await askAgent(path, { op: "ping" }).catch(() => undefined);
  if (other !== undefined)
    throw new CofferError(
      "LOCKED",
      `Another coffer agent is running on ${path}${typeof other.pid === "number" ? ` (pid ${String(other.pid)})` : ""}: stop it first, or give this one its own state_dir`,
    );
  await unlink(path).catch(() => undefined);
  const server = createServer((sock) => {
    let buf = "";
    sock.setEncoding("utf8");
    sock.on("error", () => undefined);
    sock.on("data", (d: string) => {
      buf += d;
      if (buf.length > 65_536) sock.destroy();
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      let reply: ControlReply;
      try {
        reply = handle(JSON.parse(buf.slice(0, nl)) as ControlRequest);
      } catch (err) {
        reply = { ok: false, message: err instanceof Error ? err.message : String(err) };
      }
      sock.end(`${JSON.stringify(reply)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // Only the agent's user may connect: the socket inherits the private state directory.
    server.listen({ path, readableAll: false, writableAll: false }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}

/**
 * Sends one request to the agent listening on `path`. Rejects with NOT_FOUND when no agent
 * is running there.
 */
export function askAgent(
  path: string,
  req: ControlRequest,
  timeoutMs = 5000,
): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ path });
    let buf = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(
        new CofferError(
          "NETWORK",
          `The agent on ${path} did not answer within ${String(timeoutMs / 1000)}s`,
        ),
      );
    }, timeoutMs);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on("data", (d: string) => {
      buf += d;
    });
    sock.on("end", () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as ControlReply);
      } catch {
        reject(new CofferError("IO", `The agent on ${path} sent an unreadable answer`));
      }
    });
    sock.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === "ENOENT" || err.code === "ECONNREFUSED"
          ? new CofferError("NOT_FOUND", `No coffer agent is running (no answer on ${path})`, {
              cause: err,
            })
          : new CofferError("IO", `Cannot reach the agent on ${path}: ${err.message}`, {
              cause: err,
            }),
      );
    });
  });
}
