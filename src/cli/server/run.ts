import { isCofferError } from "../../core/errors.ts";
import { loadConfig, type ConfigOverrides, type ServerConfig } from "../../server/config.ts";
import { startServer, type RunningServer } from "../../server/server.ts";
import { parseArgs, opt } from "./args.ts";
import type { CliIo } from "./io.ts";
import { serverMetaCommand } from "./meta-commands.ts";
import { sourceCommand } from "./source-commands.ts";
import { alertsCommand } from "./alerts-commands.ts";
import { auditCommand } from "./audit-commands.ts";
import { expectCommand } from "./expect-command.ts";
import type { Clock } from "../../core/deps.ts";
import { systemClock } from "../../core/system.ts";
import { scheduleMaintenance } from "../../server/retention/maintenance.ts";
import { deletionsCommand, sourceDeletionCommand } from "./deletions-commands.ts";
import { policyCommand, POLICY_REPEATED, POLICY_VALUED, takeRepeated } from "./policy-commands.ts";

/** Exit codes of `coffer-server` (docs/server.md). */
export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, CONFIG: 3 } as const;

export const USAGE = `Usage: coffer-server <command> [options]

Commands:
  start [--config F] [--data-dir DIR] [--listen HOST:PORT] [--http]
  source add NAME [--region R] [--json]
  source list [--json]
  source show NAME [--json]
  source rotate-credentials NAME [--json]
  source disable NAME | source enable NAME
  source expect NAME (--cron EXPR --tz TZ | --every DUR) --grace DUR [--group G] [--tags GLOB] [--down-after N|DUR]
  source expect NAME --list | --remove [--group G]
  audit verify [--json] | audit export [--source S] [--since T] [--until T] | audit tail [-n N] [--f]
  alerts list [--source S] [--json] | alerts test NAME
  source hold NAME on|off | source delay NAME DURATION
  deletions list [--source S] [--state pending|cancelled|executed | --all] [--json]
  deletions show ID | deletions cancel ID... | deletions cancel --source S | deletions run
  policy set NAME (--preset P | --keep-* N | --tier DUR:KEEP ...) [--group SEL] [--group-by G]
  policy show NAME | policy remove NAME [--group SEL] | policy run NAME [--dry-run]
  version
  completion bash|zsh
  COMMAND [SUBCOMMAND] --help   (the usage of one command)

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
export async function runServerCli(
  argv: readonly string[],
  io: CliIo,
  onStarted?: (s: RunningServer) => void,
  /** The server's clock (`start`): the system clock unless a test drives time. */
  clock: Clock = systemClock,
): Promise<number> {
  const meta = serverMetaCommand(argv, io, USAGE);
  if (meta !== undefined) return meta;
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "start": {
        const p = parseArgs(rest, ["config", "data-dir", "listen"], ["http"]);
        if (p.positionals.length > 0)
          throw new Error(`start takes no arguments, got ${p.positionals.join(" ")}`);
        const cfg = configFrom(p);
        const s = await startServer(cfg, { clock });
        const maintenance = scheduleMaintenance(s.metadata, s.gateway.deps.objects.storage, clock, {
          minDelayMs: cfg.minDeletionDelayMs,
          intervalMs: cfg.maintenanceIntervalMs,
          floor: cfg.retentionFloor,
          // Every maintenance pass anchors the audit chain head (deletion steps it wrote).
          onReport: () => {
            s.monitor.anchor().catch((err: unknown) => {
              io.err(
                `coffer-server: audit anchor failed: ${err instanceof Error ? err.message : String(err)}`,
              );
            });
          },
          onError: (err) => {
            const why = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
            io.err(
              `coffer-server: maintenance (retention, GC, deletions) failed, retrying in ${String(cfg.maintenanceIntervalMs / 1000)}s: ${why}`,
            );
          },
        });
        if (s.tlsGenerated)
          io.err(`coffer-server: generated a self-signed certificate in ${cfg.dataDir}/tls`);
        io.err(
          `coffer-server: listening on ${s.endpoint} (data ${cfg.dataDir}, region ${cfg.region})`,
        );
        if (s.tlsFingerprint !== undefined)
          io.err(`coffer-server: TLS SHA-256 fingerprint ${s.tlsFingerprint}`);
        s.gateway.onRequest = (l) => {
          if (l.error !== undefined)
            io.err(
              `coffer-server: ${l.requestId} ${l.operation} ${l.bucket ?? ""}/${l.key ?? ""}: internal error: ${l.error instanceof Error ? l.error.message : JSON.stringify(l.error)}`,
            );
        };
        onStarted?.(s);
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            void maintenance
              .stop()
              .then(() => s.close())
              .then(resolve);
          };
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
          s.server.once("close", () => {
            void maintenance.stop();
            resolve();
          });
        });
        return EXIT.OK;
      }
      case "deletions":
      case "policy": {
        const [sub, ...args] = rest;
        const rep = takeRepeated(args, POLICY_REPEATED);
        const p = parseArgs(
          rep.rest,
          ["config", "data-dir", "source", "state", "group", "group-by", ...POLICY_VALUED],
          ["json", "all", "dry-run"],
        );
        const cfg = configFrom(p);
        if (cmd === "deletions") {
          await deletionsCommand(io, cfg, sub, p.positionals, {
            json: p.options.has("json"),
            all: p.options.has("all"),
            ...(opt(p, "source") !== undefined ? { source: opt(p, "source") as string } : {}),
            ...(opt(p, "state") !== undefined ? { state: opt(p, "state") as string } : {}),
          });
          return EXIT.OK;
        }
        const flags: Record<string, string | string[]> = { ...rep.values };
        for (const f of POLICY_VALUED) if (opt(p, f) !== undefined) flags[f] = opt(p, f) as string;
        await policyCommand(io, cfg, sub, p.positionals, {
          json: p.options.has("json"),
          dryRun: p.options.has("dry-run"),
          flags,
          ...(opt(p, "group") !== undefined ? { group: opt(p, "group") as string } : {}),
          ...(opt(p, "group-by") !== undefined ? { groupBy: opt(p, "group-by") as string } : {}),
        });
        return EXIT.OK;
      }
      case "audit":
        return await auditCommand(io, rest, configFrom);
      case "alerts":
        return await alertsCommand(io, rest, configFrom);
      case "source": {
        const [sub, ...args] = rest;
        if (sub === "expect") return await expectCommand(io, args, configFrom);
        if (sub === "hold" || sub === "delay") {
          const p = parseArgs(args, ["config", "data-dir"], ["json"]);
          await sourceDeletionCommand(io, configFrom(p), sub, p.positionals, p.options.has("json"));
          return EXIT.OK;
        }
        const p = parseArgs(args, ["config", "data-dir", "region"], ["json"]);
        const cfg = configFrom(p);
        const region = opt(p, "region");
        await sourceCommand(io, cfg, sub, p.positionals, {
          json: p.options.has("json"),
          ...(region !== undefined ? { region } : {}),
        });
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
      if (err.code === "CONFIG" || err.code === "PERMISSION_DENIED" || err.code === "DB_VERSION")
        return EXIT.CONFIG;
      if (err.code === "BAD_INPUT" || err.code === "NOT_FOUND" || err.code === "ALREADY_EXISTS")
        return EXIT.USAGE;
    }
    return EXIT.ERROR;
  }
}
