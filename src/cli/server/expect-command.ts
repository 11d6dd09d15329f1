import { CofferError } from "../../core/errors.ts";
import { systemClock } from "../../core/system.ts";
import { checkTimeZone, parseDownAfter } from "../../server/alerts/alerts-config.ts";
import { ExpectationStore } from "../../server/alerts/expectations.ts";
import { describeSchedule } from "../../server/alerts/messages.ts";
import { auditAction } from "../../server/audit/admin.ts";
import { parseDuration, type ServerConfig } from "../../server/config.ts";
import { parseArgs, opt } from "./args.ts";
import type { CliIo } from "./io.ts";
import { withServerData } from "./with-metadata.ts";

/**
 * `coffer-server source expect NAME (--cron EXPR [--tz TZ] | --every DUR) [--grace DUR]
 * [--group G] [--tags GLOB|!GLOB] [--down-after N|DUR]`, `--list`, `--remove [--group G]`.
 */
export async function expectCommand(
  io: CliIo,
  argv: readonly string[],
  config: (p: ReturnType<typeof parseArgs>) => ServerConfig,
): Promise<number> {
  const p = parseArgs(
    argv,
    ["config", "data-dir", "cron", "tz", "every", "grace", "group", "tags", "down-after"],
    ["list", "remove", "json"],
  );
  const cfg = config(p);
  const name = p.positionals[0];
  if (name === undefined)
    throw new CofferError(
      "BAD_INPUT",
      "Usage: coffer-server source expect NAME (--cron EXPR --tz TZ | --every DUR) --grace DUR [--group G] [--tags GLOB]",
    );
  return withServerData(cfg, async (m) => {
    await m.sources.require(name);
    const store = new ExpectationStore(m.db);
    const group = opt(p, "group") ?? "default";
    const now = systemClock.now();
    if (p.options.has("list")) {
      const list = await store.list(name);
      if (p.options.has("json")) io.out(JSON.stringify(list));
      else if (list.length === 0) io.out(`No expectations for ${name}: no missed-backup alerts.`);
      else
        for (const e of list)
          io.out(`${e.group.padEnd(12)} ${describeSchedule(e)}; state ${e.state}`);
      return 0;
    }
    if (p.options.has("remove")) {
      if (!(await store.remove(name, group)))
        throw new CofferError("NOT_FOUND", `Source ${name} has no expectation for group ${group}`);
      if (cfg.audit.enabled)
        await auditAction(m.db, {
          time: now,
          action: "source.expect.remove",
          source: name,
          detail: { group },
        });
      io.out(`Removed the ${group} expectation of ${name}.`);
      return 0;
    }
    const cron = opt(p, "cron");
    const every = opt(p, "every");
    if ((cron === undefined) === (every === undefined))
      throw new CofferError("BAD_INPUT", "Give exactly one of --cron EXPR or --every DURATION");
    const tz = checkTimeZone(opt(p, "tz") ?? cfg.alerts.timeZone);
    const down = opt(p, "down-after");
    const e = await store.set({
      source: name,
      group,
      tagMatch: opt(p, "tags") ?? null,
      cron: cron ?? null,
      tz,
      everyMs: every === undefined ? null : parseDuration(every, "--every"),
      graceMs: parseDuration(opt(p, "grace") ?? "1h", "--grace"),
      downAfter:
        down === undefined
          ? cfg.alerts.downAfter
          : parseDownAfter(down, parseDuration, "(command line)"),
      createdAt: now,
    });
    if (cfg.audit.enabled)
      await auditAction(m.db, {
        time: now,
        action: "source.expect",
        source: name,
        detail: { group, schedule: describeSchedule(e) },
      });
    if (p.options.has("json")) io.out(JSON.stringify(e));
    else io.out(`Expecting ${name} (${group}): ${describeSchedule(e)}.`);
    return 0;
  });
}
