import { CofferError } from "../../core/errors.ts";
import { systemClock } from "../../core/system.ts";
import { AuditLog } from "../../server/audit/audit-log.ts";
import { Alerter } from "../../server/alerts/alerter.ts";
import { channelsOf } from "../../server/alerts/channels.ts";
import { formatInZone } from "../../cron/cron.ts";
import type { ServerConfig } from "../../server/config.ts";
import { parseArgs, opt } from "./args.ts";
import type { CliIo } from "./io.ts";
import { withServerData } from "./with-metadata.ts";

/** `coffer-server alerts list [--source S] [--json]` and `alerts test NAME`. */
export async function alertsCommand(
  io: CliIo,
  argv: readonly string[],
  config: (p: ReturnType<typeof parseArgs>) => ServerConfig,
): Promise<number> {
  const [sub, ...rest] = argv;
  const p = parseArgs(rest, ["config", "data-dir", "source", "limit"], ["json"]);
  const cfg = config(p);
  return withServerData(cfg, async (m, storage) => {
    const channels = channelsOf(cfg.alerts);
    const alerter = new Alerter({
      db: m.db,
      metadata: m,
      storage,
      cfg: cfg.alerts,
      clock: systemClock,
      channels,
      ...(cfg.audit.enabled ? { audit: new AuditLog(m.db) } : {}),
    });
    switch (sub) {
      case "list": {
        const src = opt(p, "source");
        const list = await alerter.alerts.list({
          ...(src !== undefined ? { source: src } : {}),
          limit: Number(opt(p, "limit") ?? "50"),
        });
        if (p.options.has("json")) {
          io.out(JSON.stringify(list));
          return 0;
        }
        if (list.length === 0) io.out("No alerts.");
        for (const a of list) {
          const tz = await alerter.zoneOf(a.source);
          io.out(
            `${String(a.id).padStart(5)} ${a.state.padEnd(8)} ${a.kind.padEnd(18)} ${formatInZone(a.openedAt, tz)}  ${a.summary}`,
          );
        }
        const exps = await alerter.expectations.list(src);
        for (const e of exps)
          io.out(
            `expectation ${e.source} (${e.group}): ${e.state} since ${formatInZone(e.stateSince, e.tz)}`,
          );
        return 0;
      }
      case "test": {
        const name = p.positionals[0];
        if (name === undefined)
          throw new CofferError("BAD_INPUT", "Usage: coffer-server alerts test SOURCE");
        await m.sources.require(name);
        if (channels.length === 0)
          throw new CofferError(
            "CONFIG",
            "No alert channels configured: add alerts.smtp or alerts.webhooks to the server config",
          );
        await alerter.test(name);
        const items = await m.db.all<{ channel: string; state: string; last_error: string | null }>(
          "SELECT channel, state, last_error FROM alert_outbox WHERE alert_id = (SELECT MAX(id) FROM alerts WHERE kind = 'test' AND source = ?)",
          [name],
        );
        let ok = true;
        for (const i of items) {
          io.out(
            `${i.channel}: ${i.state === "sent" ? "sent" : `NOT sent (${i.last_error ?? i.state})`}`,
          );
          if (i.state !== "sent") ok = false;
        }
        return ok ? 0 : 1;
      }
      default:
        throw new CofferError(
          "BAD_INPUT",
          `Unknown alerts subcommand ${JSON.stringify(sub ?? "")}: use list or test`,
        );
    }
  });
}
