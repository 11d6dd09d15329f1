import { CofferError } from "../../core/errors.ts";
import { systemClock } from "../../core/system.ts";
import { AuditLog, type AuditEntry } from "../../server/audit/audit-log.ts";
import { verifyAudit } from "../../server/audit/verify.ts";
import { parseDuration, type ServerConfig } from "../../server/config.ts";
import { parseArgs, opt } from "./args.ts";
import type { CliIo } from "./io.ts";
import { withServerData } from "./with-metadata.ts";

/** `2026-03-01`, `2026-03-01T12:00:00Z`, or a duration meaning "that long ago" (`24h`). */
export function parseTimeArg(v: string, what: string, now: number): number {
  if (/^\d+(\.\d+)?\s*(ms|s|m|h|d|w)$/.test(v)) return now - parseDuration(v, what);
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new CofferError(
      "BAD_INPUT",
      `Invalid ${what} ${JSON.stringify(v)}: use an RFC 3339 time (2026-03-01T12:00:00Z) or a duration ago (24h)`,
    );
  return t;
}

function line(e: AuditEntry): string {
  return JSON.stringify({ ...e, time: new Date(e.time).toISOString() });
}

/**
 * `coffer-server audit verify|export|tail`. Returns the exit code (verify: 1 when the log
 * was tampered with). `signal` stops `tail -f` (tests); otherwise it runs until SIGINT.
 */
export async function auditCommand(
  io: CliIo,
  argv: readonly string[],
  config: (p: ReturnType<typeof parseArgs>) => ServerConfig,
  signal?: AbortSignal,
): Promise<number> {
  const [sub, ...rest] = argv;
  const p = parseArgs(
    rest,
    ["config", "data-dir", "source", "since", "until", "n"],
    ["json", "f", "follow"],
  );
  const cfg = config(p);
  const now = systemClock.now();
  return withServerData(cfg, async (m, storage) => {
    const audit = new AuditLog(m.db);
    switch (sub) {
      case "verify": {
        const r = await verifyAudit(m.db, storage, { retentionMs: cfg.audit.retentionMs });
        if (p.options.has("json")) io.out(JSON.stringify(r));
        else if (r.ok) {
          io.out(
            `Audit log OK: ${r.entries} entries (seq ${r.firstSeq}..${r.headSeq}), ${r.anchors} anchor${r.anchors === 1 ? "" : "s"}${r.lastAnchor ? `, newest anchored seq ${r.lastAnchor.seq}` : ""}.`,
          );
        } else {
          io.out(
            `Audit log TAMPERED: ${r.problems.length} problem${r.problems.length === 1 ? "" : "s"} in ${r.entries} entries (seq ${r.firstSeq}..${r.headSeq}):`,
          );
          for (const x of r.problems) io.out(`  seq ${x.seq}: ${x.message}`);
        }
        return r.ok ? 0 : 1;
      }
      case "export": {
        const f: Parameters<AuditLog["entries"]>[0] = {};
        const src = opt(p, "source");
        const since = opt(p, "since");
        const until = opt(p, "until");
        if (src !== undefined) f.source = src;
        if (since !== undefined) f.since = parseTimeArg(since, "--since", now);
        if (until !== undefined) f.until = parseTimeArg(until, "--until", now);
        for await (const e of audit.entries(f)) io.out(line(e));
        return 0;
      }
      case "tail": {
        const n = Number(opt(p, "n") ?? "10");
        const src = opt(p, "source");
        const head = await audit.head();
        let after = Math.max(0, head.seq - n);
        const emit = async (): Promise<void> => {
          for (const e of await audit.page(
            { afterSeq: after, ...(src !== undefined ? { source: src } : {}) },
            1000,
          )) {
            io.out(line(e));
            after = e.seq;
          }
          const h = await audit.head();
          if (src !== undefined) after = Math.max(after, h.seq);
        };
        await emit();
        if (!p.options.has("f") && !p.options.has("follow")) return 0;
        const ac = new AbortController();
        const stop = (): void => {
          ac.abort();
        };
        signal?.addEventListener("abort", stop);
        process.once("SIGINT", stop);
        try {
          while (!ac.signal.aborted) {
            await new Promise((r) => setTimeout(r, 250));
            await emit();
          }
        } finally {
          process.off("SIGINT", stop);
        }
        return 0;
      }
      default:
        throw new CofferError(
          "BAD_INPUT",
          `Unknown audit subcommand ${JSON.stringify(sub ?? "")}: use verify, export or tail`,
        );
    }
  });
}
