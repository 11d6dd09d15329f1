import { isCofferError } from "../../core/errors.ts";
import { loadConfig, type ConfigOverrides, type ServerConfig } from "../../server/config.ts";
import { startServer, type RunningServer } from "../../server/server.ts";
import { parseArgs, opt } from "./args.ts";
import type { CliIo } from "./io.ts";
import { sourceCommand } from "./source-commands.ts";

/** Exit codes of `coffer-server` (docs/server.md). */
export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, CONFIG: 3 } as const;

const USAGE = `Usage: coffer-server <command> [options]

Commands:
  start [--config F] [--data-dir DIR] [--listen HOST:PORT] [--http]
  source add NAME [--region R] [--json]
  source list [--json]
  source show NAME [--json]
  source rotate-credentials NAME [--json]
  source disable NAME | source enable NAME

Every command takes --config F and --data-dir DIR.`;

function configFrom(p: ReturnType<typeof parseArgs>): ServerConfig {
  const o: ConfigOverrides = {};
  const dataDir = opt(p, "data-dir");
  const listen = opt(p, "listen");
  if (dataDir !== undefined) o.dataDir = dataDir;
  if (listen !== undefined) o.listen = listen;
  if (p.options.has("http")) o.http = true;
  return loadConfig(opt(p, "config") ?? process.env.COFFER_SERVER_CONFIG, o);
}

/**
 * Runs `coffer-server` with `argv` (without node and script). Resolves to the exit code;
 * `start` resolves only after a shutdown signal (or `onStarted`'s server is closed).
 */
export async function runServerCli(argv: readonly string[], io: CliIo, onStarted?: (s: RunningServer) => void): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "start": {
        const p = parseArgs(rest, ["config", "data-dir", "listen"], ["http"]);
        if (p.positionals.length > 0) throw new Error(`start takes no arguments, got ${p.positionals.join(" ")}`);
        const cfg = configFrom(p);
        const s = await startServer(cfg);
        if (s.tlsGenerated) io.err(`coffer-server: generated a self-signed certificate in ${cfg.dataDir}/tls`);
        io.err(`coffer-server: listening on ${s.endpoint} (data ${cfg.dataDir}, region ${cfg.region})`);
        if (s.tlsFingerprint !== undefined) io.err(`coffer-server: TLS SHA-256 fingerprint ${s.tlsFingerprint}`);
        s.gateway.onRequest = (l) => {
          if (l.error !== undefined) io.err(`coffer-server: ${l.requestId} ${l.operation} ${l.bucket ?? ""}/${l.key ?? ""}: internal error: ${l.error instanceof Error ? l.error.message : JSON.stringify(l.error)}`);
        };
        onStarted?.(s);
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            void s.close().then(resolve);
          };
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
          s.server.once("close", () => {
            resolve();
          });
        });
        return EXIT.OK;
      }
      case "source": {
        const [sub, ...args] = rest;
        const p = parseArgs(args, ["config", "data-dir", "region"], ["json"]);
        const cfg = configFrom(p);
        const region = opt(p, "region");
        await sourceCommand(io, cfg, sub, p.positionals, { json: p.options.has("json"), ...(region !== undefined ? { region } : {}) });
        return EXIT.OK;
      }
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.out(USAGE);
        return cmd === undefined ? EXIT.USAGE : EXIT.OK;
      default:
        io.err(`coffer-server: unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
        return EXIT.USAGE;
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.err(`coffer-server: ${message}`);
    if (isCofferError(err)) {
      if (err.code === "CONFIG" || err.code === "PERMISSION_DENIED" || err.code === "DB_VERSION") return EXIT.CONFIG;
      if (err.code === "BAD_INPUT" || err.code === "NOT_FOUND" || err.code === "ALREADY_EXISTS") return EXIT.USAGE;
    }
    return EXIT.ERROR;
  }
}
