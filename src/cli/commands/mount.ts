import { resolve } from "node:path";
import { CofferError } from "../../core/errors.ts";
import { BrowseTree, localTimeFormatter, repositorySource } from "../../vfs/index.ts";
import { checkMountpoint, FuseMount } from "../../vfs/fuse/fuse-mount.ts";
import { type Command, str } from "../command.ts";
import type { CliContext } from "../context.ts";
import { filterOptions, readFilter } from "./snapshot-filter.ts";

/** The `--blob-cache` option shared by `mount` and `serve webdav`. */
export const blobCacheOption = {
  "blob-cache": {
    type: "string" as const,
    arg: "MiB",
    help: "memory for decoded file blobs (default 64)",
  },
};

/** Opens the browse tree of the repository with the filter options (mount, serve webdav). */
export async function openBrowseTree(
  ctx: CliContext,
  args: Parameters<Command["run"]>[1],
): Promise<BrowseTree> {
  const mib = str(args, "blob-cache");
  let cacheBytes: number | undefined;
  if (mib !== undefined) {
    if (!/^\d+$/.test(mib) || Number(mib) < 1)
      throw new CofferError(
        "BAD_INPUT",
        `--blob-cache ${mib}: give a whole number of MiB (at least 1)`,
      );
    cacheBytes = Number(mib) * 1024 * 1024;
  }
  const repo = await ctx.repository();
  return BrowseTree.open(repositorySource(repo, readFilter(args, ctx.io.cwd)), {
    clock: ctx.io.clock,
    formatTime: localTimeFormatter((ms) => -new Date(ms).getTimezoneOffset()),
    ...(cacheBytes !== undefined ? { cacheBytes } : {}),
    owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
    onRefreshError: (err) => {
      ctx.out.warn(
        `Cannot reload the snapshot list: ${err instanceof Error ? err.message : String(err)}`,
      );
    },
  });
}

/** Resolves on SIGINT/SIGTERM (the context's signal). */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((ok) => {
    if (signal.aborted) ok();
    else
      signal.addEventListener(
        "abort",
        () => {
          ok();
        },
        { once: true },
      );
  });
}

/** Reloads the snapshot list on SIGHUP while `fn` runs. */
export async function withSighup<T>(
  ctx: CliContext,
  tree: BrowseTree,
  fn: () => Promise<T>,
): Promise<T> {
  const onHup = (): void => {
    void tree.refresh().then(() => {
      ctx.out.info(`reloaded the snapshot list: ${String(tree.layout.snapshots.length)} snapshots`);
    });
  };
  process.on("SIGHUP", onHup);
  try {
    return await fn();
  } finally {
    process.off("SIGHUP", onHup);
  }
}

/** `coffer mount MOUNTPOINT`: the repository read-only through FUSE until Ctrl-C. */
export const mountCommand: Command = {
  name: "mount",
  summary: "mount the repository read-only through FUSE (snapshots/, latest, hosts/, tags/)",
  usage: "mount [--host H] [--tag T] [--path P] MOUNTPOINT",
  options: { ...filterOptions, ...blobCacheOption },
  async run(ctx, args) {
    const [target, extra] = args.positionals;
    if (target === undefined || extra !== undefined)
      throw new CofferError("BAD_INPUT", "mount: give one mount point");
    const mountpoint = resolve(ctx.io.cwd, target);
    checkMountpoint(mountpoint);
    const tree = await openBrowseTree(ctx, args);
    const m = await FuseMount.mount(tree, {
      mountpoint,
      log: (msg) => ctx.io.stderr.write(`coffer: ${msg}\n`),
    });
    ctx.out.info(
      `mounted ${String(tree.layout.snapshots.length)} snapshots read-only at ${mountpoint}; Ctrl-C unmounts`,
    );
    return withSighup(ctx, tree, async () => {
      await Promise.race([aborted(ctx.io.signal), m.done]);
      await m.unmount();
      ctx.out.info(`unmounted ${mountpoint}`);
      return 0;
    });
  },
};
