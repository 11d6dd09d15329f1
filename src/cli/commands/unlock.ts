import { describeHolder, type LockEntry } from "../../engine/prune/index.ts";
import { unlock } from "../../engine/prune/index.ts";
import { flag, type Command } from "../command.ts";

const brief = (e: LockEntry): Record<string, unknown> => ({ key: e.key, ...e.info });

/**
 * `coffer unlock`: removes stale prune locks (not refreshed for 30 minutes, or of a dead
 * process on this host) and unreadable lock objects; `--remove-all` also live ones, with a
 * warning each (a prune still running stops at its next refresh). restic's verb and rules.
 */
export const unlockCommand: Command = {
  name: "unlock",
  summary: "remove stale prune locks (--remove-all: live ones too)",
  usage: "unlock [--remove-all]",
  options: {
    "remove-all": {
      type: "boolean",
      help: "also remove live locks (a prune still running stops at its next refresh)",
    },
  },
  async run(ctx, args) {
    const repo = await ctx.repository();
    const r = await unlock(repo.storage, {
      now: repo.clock.now(),
      removeAll: flag(args, "remove-all"),
    });
    for (const e of r.removedLive)
      ctx.out.warn(
        `removed live lock ${e.key} (${describeHolder(e)}): if that prune still runs, it stops at its next refresh`,
        { key: e.key },
      );
    if (ctx.out.json) {
      ctx.out.data({
        removed: r.removed.map(brief),
        removedLive: r.removedLive.map(brief),
        kept: r.kept.map(brief),
        unreadable: r.unreadable,
      });
      return 0;
    }
    if (r.removed.length > 0) ctx.out.line(`removed ${String(r.removed.length)} stale lock(s)`);
    if (r.unreadable.length > 0)
      ctx.out.line(`removed ${String(r.unreadable.length)} unreadable lock object(s)`);
    for (const e of r.kept)
      ctx.out.line(
        `kept live lock ${e.key} (${describeHolder(e)}); "coffer unlock --remove-all" removes it`,
      );
    if (r.removed.length + r.removedLive.length + r.unreadable.length + r.kept.length === 0)
      ctx.out.line("no locks");
    return 0;
  },
};
