import { CofferError } from "../../core/errors.ts";
import { defaultCacheDir } from "../../engine/cache/index.ts";
import {
  type CacheInfo,
  DEFAULT_CACHE_MAX_AGE_DAYS,
  listCaches,
  removeOldCaches,
} from "../../engine/cache/index.ts";
import { type Command, str } from "../command.ts";

const MiB = 1024 * 1024;

/** `coffer cache`: lists the local repository caches; `--cleanup` removes old ones (restic's verb). */
export const cacheCommand: Command = {
  name: "cache",
  summary: "list the local caches of remote repositories, --cleanup removes unused ones",
  usage: "cache [--cleanup] [--max-age DAYS]",
  options: {
    cleanup: { type: "boolean", help: "remove caches not used for --max-age days" },
    "max-age": {
      type: "string",
      arg: "DAYS",
      help: `a cache unused for longer is old (default ${String(DEFAULT_CACHE_MAX_AGE_DAYS)})`,
    },
  },
  async run(ctx, args) {
    const base = str(args, "cache-dir") ?? defaultCacheDir(ctx.io.env);
    if (base === undefined)
      throw new CofferError("BAD_INPUT", "cache: no cache directory (set --cache-dir or HOME)");
    const ageArg = str(args, "max-age");
    const maxAge = ageArg === undefined ? DEFAULT_CACHE_MAX_AGE_DAYS : Number(ageArg);
    if (!/^\d+$/.test(ageArg ?? "0") || !Number.isSafeInteger(maxAge))
      throw new CofferError("BAD_INPUT", `cache: --max-age ${String(ageArg)}: expected whole days`);
    const now = Date.now();
    const removed = args.values.cleanup === true ? await removeOldCaches(base, now, maxAge) : [];
    const left = await listCaches(base, now, maxAge);
    const view = (c: CacheInfo) => ({
      repository_id: c.repoId,
      path: c.dir,
      size_bytes: c.bytes,
      last_used: new Date(c.lastUsedMs).toISOString(),
      old: c.old,
    });
    if (ctx.out.json) {
      ctx.out.data({ cache_dir: base, caches: left.map(view), removed: removed.map(view) });
      return 0;
    }
    for (const c of removed) ctx.out.line(`removed old cache ${c.dir}`);
    if (left.length === 0) {
      ctx.out.line(`no caches in ${base}`);
      return 0;
    }
    ctx.out.line(`${"Repo ID".padEnd(12)} ${"Last Used".padEnd(12)} ${"Old".padEnd(4)} Size`);
    for (const c of left) {
      const days = Math.floor((now - c.lastUsedMs) / 86_400_000);
      ctx.out.line(
        `${c.repoId.slice(0, 10).padEnd(12)} ${`${String(days)} days ago`.padEnd(12)} ${(c.old ? "yes" : "").padEnd(4)} ${(c.bytes / MiB).toFixed(1)} MiB`,
      );
    }
    ctx.out.line(`\n${String(left.length)} cache(s) in ${base}`);
    if (args.values.cleanup !== true && left.some((c) => c.old))
      ctx.out.line("old caches can be removed with coffer cache --cleanup");
    return 0;
  },
};
