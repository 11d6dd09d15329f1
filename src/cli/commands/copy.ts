import { CofferError } from "../../core/errors.ts";
import { Repository } from "../../engine/repository/index.ts";
import { copySnapshots } from "../../copy/copy.ts";
import { shortId } from "../../format/ids.ts";
import { openStorage } from "../../storage/open.ts";
import { str, type Command } from "../command.ts";
import { ExitCode } from "../exit-codes.ts";
import { formatBytes } from "../output.ts";
import { readPassword } from "../password.ts";
import { filterOptions, readFilter } from "./snapshot-filter.ts";

/** `coffer copy`: copies snapshots from another repository (restic's `copy`). */
export const copyCommand: Command = {
  name: "copy",
  summary: "copy snapshots from another repository (--from-repo), uploading only what is missing",
  usage: "copy -r DEST --from-repo SRC [SNAPSHOT...] [--host H] [--tag T] [--path P]",
  options: {
    "from-repo": {
      type: "string",
      arg: "REPO",
      help: "source repository (or COFFER_FROM_REPOSITORY)",
    },
    "from-password-file": {
      type: "string",
      arg: "FILE",
      help: "file holding the source's password (or COFFER_FROM_PASSWORD_FILE)",
    },
    "from-password-command": {
      type: "string",
      arg: "CMD",
      help: "shell command that prints the source's password (or COFFER_FROM_PASSWORD_COMMAND)",
    },
    "from-tls-ca": { type: "string", arg: "FILE", help: "extra CA certificate for the source" },
    "from-tls-fingerprint": {
      type: "string",
      arg: "SHA256",
      help: "pin the source server certificate's SHA-256 fingerprint",
    },
    ...filterOptions,
  },
  async run(ctx, args) {
    const env = ctx.io.env;
    const fromUrl = str(args, "from-repo") ?? env.COFFER_FROM_REPOSITORY;
    if (fromUrl === undefined || fromUrl === "")
      throw new CofferError("BAD_INPUT", "copy: --from-repo SRC is required");
    const fromEnv: Record<string, string | undefined> = {
      ...env,
      AWS_ACCESS_KEY_ID: env.COFFER_FROM_AWS_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: env.COFFER_FROM_AWS_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY,
      COFFER_PASSWORD: env.COFFER_FROM_PASSWORD,
      COFFER_PASSWORD_FILE: env.COFFER_FROM_PASSWORD_FILE,
      COFFER_PASSWORD_COMMAND: env.COFFER_FROM_PASSWORD_COMMAND,
    };
    const fromPassword = await readPassword(
      { ...ctx.io, env: fromEnv },
      {
        passwordCommand: str(args, "from-password-command"),
        passwordFile: str(args, "from-password-file"),
      },
      "enter password for source repository: ",
    );
    const ca = str(args, "from-tls-ca") ?? env.COFFER_FROM_TLS_CA;
    const fp = str(args, "from-tls-fingerprint") ?? env.COFFER_FROM_TLS_FINGERPRINT;
    const srcStorage = await openStorage(fromUrl, {
      env: fromEnv,
      cwd: ctx.io.cwd,
      ...(ca !== undefined ? { caFile: ca } : {}),
      ...(fp !== undefined ? { fingerprint: fp } : {}),
    });
    try {
      let src: Repository;
      try {
        src = await Repository.open(srcStorage, fromPassword);
      } catch (err) {
        if (err instanceof CofferError)
          throw new CofferError(err.code, `source repository: ${err.message}`, { cause: err });
        throw err;
      }
      src.damage.onWarning = (w) => {
        ctx.out.warn(`source repository: ${w.message}`, { object: w.object });
      };
      const dst = await ctx.repository();
      const result = await copySnapshots(src, dst, {
        refs: args.positionals,
        filter: readFilter(args, ctx.io.cwd),
        signal: ctx.io.signal,
        onSnapshot: (e) => {
          const what = `snapshot ${shortId(e.source)} of [${e.snapshot.paths.join(" ")}] at ${e.snapshot.time}`;
          if (e.copied)
            ctx.out.info(
              `${what}: copied to ${shortId(e.destination)} (${String(e.blobsAdded)} new blobs, ${formatBytes(e.bytesAdded)})`,
            );
          else
            ctx.out.info(
              `${what}: skipped, already in the destination as ${shortId(e.destination)}`,
            );
        },
      });
      const copied = result.snapshots.filter((s) => s.copied);
      if (ctx.out.json) {
        ctx.out.data({
          message_type: "summary",
          snapshots: result.snapshots.map((s) => ({
            source: s.source,
            destination: s.destination,
            copied: s.copied,
          })),
          snapshots_copied: copied.length,
          snapshots_skipped: result.snapshots.length - copied.length,
          blobs_added: result.blobsAdded,
          bytes_added: result.bytesAdded,
          bytes_stored: result.bytesStored,
          packs_added: result.packsAdded,
          bytes_read: result.bytesRead,
        });
      } else {
        ctx.out.summary(
          `copied ${String(copied.length)} of ${String(result.snapshots.length)} snapshots: ${String(result.blobsAdded)} new blobs, ${formatBytes(result.bytesAdded)} added (${formatBytes(result.bytesStored)} stored)`,
        );
      }
      return ExitCode.OK;
    } finally {
      await srcStorage.close?.();
    }
  },
};
