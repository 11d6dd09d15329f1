import {
  mkdirSync,
  accessSync,
  constants,
  writeFileSync,
  rmSync,
  readdirSync,
  statSync,
} from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Clock } from "../core/deps.ts";
import { CofferError } from "../core/errors.ts";
import { systemClock } from "../core/system.ts";
import { LocalStorage } from "../storage/local.ts";
import type { Storage } from "../storage/storage.ts";
import type { ServerConfig } from "./config.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { Gateway } from "./gateway.ts";
import { MasterKey } from "./master-key.ts";
import { Metadata } from "./metadata.ts";
import { nodeHandler } from "./node-adapter.ts";
import { ObjectStore } from "./object-store.ts";
import { loadTls } from "./tls.ts";
import { startMonitor, type Monitor } from "./audit/monitor.ts";

/** How long shutdown waits for requests in flight before cutting their connections. */
const CLOSE_GRACE_MS = 10_000;

/** Facts about a running server, written to `<dataDir>/server.json` for `source add`. */
export interface ServerInfo {
  endpoint: string;
  tlsFingerprint?: string;
  pid: number;
  startedAt: string;
}

/** A started gateway. */
export interface RunningServer {
  gateway: Gateway;
  metadata: Metadata;
  server: Server;
  port: number;
  endpoint: string;
  tlsFingerprint?: string;
  tlsGenerated: boolean;
  /** Audit log and alerter (src/server/audit/monitor.ts). */
  monitor: Monitor;
  close(): Promise<void>;
}

/** Creates the data directory layout and checks it is writable (clear one-line errors). */
export function prepareDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    for (const d of ["objects", "staging", "tmp"])
      mkdirSync(join(dataDir, d), { recursive: true, mode: 0o700 });
    accessSync(dataDir, constants.W_OK);
    const probe = join(dataDir, "tmp", `.probe-${process.pid}`);
    writeFileSync(probe, "");
    rmSync(probe);
  } catch (err) {
    throw new CofferError(
      "PERMISSION_DENIED",
      `Cannot use data directory ${dataDir}: ${(err as Error).message.replace(/^\w+: /, "")}`,
      { cause: err },
    );
  }
}

/** Removes body temp files older than a day (left by a killed run; never a live upload's). */
function sweepTmp(dataDir: string, now: number): void {
  const dir = join(dataDir, "tmp");
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    try {
      if (now - statSync(p).mtimeMs > 86_400_000) rmSync(p, { force: true, recursive: true });
    } catch {
      // raced with its owner: fine
    }
  }
}

/**
 * Closes a new connection at once when its client address already has `max` open: one
 * address cannot exhaust the server's sockets with idle or slow requests.
 */
function limitConnectionsPerClient(server: Server, max: number): void {
  const open = new Map<string, number>();
  server.on("connection", (socket: Socket) => {
    const addr = socket.remoteAddress ?? "";
    const n = (open.get(addr) ?? 0) + 1;
    if (n > max) {
      socket.destroy();
      return;
    }
    open.set(addr, n);
    socket.once("close", () => {
      const left = (open.get(addr) ?? 1) - 1;
      if (left <= 0) open.delete(addr);
      else open.set(addr, left);
    });
  });
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === "EADDRINUSE")
        reject(
          new CofferError("CONFIG", `Cannot listen on ${host}:${port}: address already in use`, {
            cause: err,
          }),
        );
      else if (err.code === "EACCES")
        reject(
          new CofferError("CONFIG", `Cannot listen on ${host}:${port}: permission denied`, {
            cause: err,
          }),
        );
      else if (err.code === "EADDRNOTAVAIL")
        reject(
          new CofferError("CONFIG", `Cannot listen on ${host}:${port}: address not available`, {
            cause: err,
          }),
        );
      else
        reject(
          new CofferError("CONFIG", `Cannot listen on ${host}:${port}: ${err.message}`, {
            cause: err,
          }),
        );
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Opens metadata, storage and the master key, then listens (HTTPS unless `cfg.http`). */
export async function startServer(
  cfg: ServerConfig,
  o: {
    clock?: Clock;
    storage?: Storage;
    writeInfo?: boolean;
    onMonitorError?: (what: string, err: unknown) => void;
  } = {},
): Promise<RunningServer> {
  const clock = o.clock ?? systemClock;
  prepareDataDir(cfg.dataDir);
  const lock = lockDataDir(cfg.dataDir); // before server.json is written: one server per directory
  let metadata: Metadata;
  try {
    const master = MasterKey.loadOrCreate(cfg.dataDir);
    metadata = await Metadata.openSqlite(cfg.dataDir, master, clock.now());
  } catch (err) {
    lock.release();
    throw err;
  }
  let stopMonitor = (): Promise<void> => Promise.resolve();
  try {
    const storage = o.storage ?? new LocalStorage(join(cfg.dataDir, "objects"));
    const gateway = new Gateway({
      config: cfg,
      metadata,
      objects: new ObjectStore(storage, metadata.objects),
      clock,
      tmpDir: join(cfg.dataDir, "tmp"),
      stagingDir: join(cfg.dataDir, "staging"),
    });
    const monitor = await startMonitor({
      cfg,
      metadata,
      storage,
      gateway,
      clock,
      ...(o.onMonitorError ? { onError: o.onMonitorError } : {}),
    });
    stopMonitor = () => monitor.stop();
    const handler = nodeHandler(gateway, { bodyIdleMs: cfg.bodyTimeoutMs });
    let server: Server;
    let fingerprint: string | undefined;
    let generated = false;
    if (cfg.http) server = createHttpServer(handler);
    else {
      const tls = loadTls(cfg);
      fingerprint = tls.fingerprint;
      generated = tls.generated;
      server = createHttpsServer({ cert: tls.cert, key: tls.key }, handler);
    }
    // Expect: 100-continue is answered by the gateway once the request is authenticated.
    server.on("checkContinue", handler);
    server.requestTimeout = 0; // uploads may be long; idle bodies time out (bodyTimeout)
    server.keepAliveTimeout = 30_000;
    server.headersTimeout = Math.min(60_000, Math.max(cfg.bodyTimeoutMs, 1000));
    limitConnectionsPerClient(server, cfg.maxConnectionsPerClient);
    const port = await listen(server, cfg.host, cfg.port);
    sweepTmp(cfg.dataDir, clock.now());
    const host =
      cfg.host === "0.0.0.0" || cfg.host === "::"
        ? hostname()
        : cfg.host.includes(":")
          ? `[${cfg.host}]`
          : cfg.host;
    const endpoint = cfg.publicUrl ?? `${cfg.http ? "http" : "https"}://${host}:${port}`;
    if (o.writeInfo ?? true) {
      const info: ServerInfo = {
        endpoint,
        pid: process.pid,
        startedAt: new Date(clock.now()).toISOString(),
      };
      if (fingerprint !== undefined) info.tlsFingerprint = fingerprint;
      writeFileSync(join(cfg.dataDir, "server.json"), JSON.stringify(info, null, 2) + "\n", {
        mode: 0o600,
      });
    }
    return {
      gateway,
      metadata,
      server,
      port,
      endpoint,
      ...(fingerprint !== undefined ? { tlsFingerprint: fingerprint } : {}),
      tlsGenerated: generated,
      monitor,
      close: async () => {
        // Stop accepting, let requests in flight finish (cut their connections after a
        // grace), and only then write the final audit entry and anchor: an entry written
        // after the shutdown anchor would be unprotected.
        const closed = new Promise<void>((ok) => {
          server.close(() => {
            ok();
          });
        });
        server.closeIdleConnections();
        const cut = setTimeout(() => {
          server.closeAllConnections();
        }, CLOSE_GRACE_MS);
        cut.unref();
        await gateway.drain();
        server.closeAllConnections();
        clearTimeout(cut);
        await closed;
        await gateway.drain();
        await monitor.stop();
        await metadata.close();
        lock.release();
      },
    };
  } catch (err) {
    await stopMonitor().catch(() => undefined);
    await metadata.close();
    lock.release();
    throw err;
  }
}
