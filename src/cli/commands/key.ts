import { readFile, writeFile } from "node:fs/promises";
import { CofferError } from "../../core/errors.ts";
import {
  addKey,
  changePassword,
  exportMasterKey,
  listKeys,
  removeKey,
} from "../../engine/repository/index.ts";
import { flag, str, type Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { checkNewPassword } from "../password.ts";

async function newPassword(ctx: CliContext, file: string | undefined): Promise<string> {
  return checkNewPassword(
    await readNewPassword(ctx, file),
    flag(ctx.args, "insecure-password"),
    "new password",
  );
}

async function readNewPassword(ctx: CliContext, file: string | undefined): Promise<string> {
  if (file !== undefined) {
    const text = (
      await readFile(file, "utf8").catch((err: unknown) => {
        throw new CofferError(
          "BAD_INPUT",
          `Cannot read new password file ${file}: ${(err as Error).message}`,
          { cause: err },
        );
      })
    ).replace(/\r?\n$/, "");
    if (text === "") throw new CofferError("BAD_INPUT", "Empty new password: refusing to use it");
    return text;
  }
  const env = ctx.io.env.COFFER_NEW_PASSWORD;
  if (env !== undefined && env !== "") return env;
  if (ctx.io.stdin.isTTY !== true) {
    throw new CofferError(
      "BAD_INPUT",
      "No new password: use --new-password-file or COFFER_NEW_PASSWORD",
    );
  }
  const { readPassword } = await import("../password.ts");
  return readPassword(ctx.io, {}, "enter new password: ", true);
}

/**
 * `key recover`: regains access from an escrowed master key (`key export`, file or paper
 * form) by writing a new key file for a new password. No current password is needed.
 */
async function recover(
  ctx: CliContext,
  file: string | undefined,
  newPasswordFile: string | undefined,
): Promise<number> {
  if (file === undefined)
    throw new CofferError("BAD_INPUT", "key recover: --master-key-file FILE is required");
  const text = await readFile(file, "utf8").catch((err: unknown) => {
    throw new CofferError(
      "BAD_INPUT",
      `Cannot read master key file ${file}: ${(err as Error).message}`,
      { cause: err },
    );
  });
  const { importMasterKey } = await import("../../format/keys.ts");
  const { Repository } = await import("../../engine/repository/index.ts");
  const { master, repoId } = importMasterKey(text);
  const repo = await Repository.openWithMasterKey(await ctx.storage(), master, repoId);
  const pw = await newPassword(ctx, newPasswordFile);
  const id = await addKey(repo, pw, { hostname: ctx.hostname, username: ctx.username });
  if (ctx.out.json) ctx.out.data({ message_type: "key_recovered", id, repository: repo.id });
  else
    ctx.out.line(
      `recovered access to repository ${repo.id.slice(0, 10)}: saved new key ${id.slice(0, 8)}`,
    );
  return 0;
}

/** `coffer key list|add|remove|passwd|export|recover`. */
export const keyCommand: Command = {
  name: "key",
  summary: "manage key files (list, add, remove, passwd) and export the master key",
  usage:
    "key list | add [--new-password-file F] | remove ID | passwd [--new-password-file F] | export [--paper] [--output FILE] | recover --master-key-file F [--new-password-file F]",
  options: {
    "master-key-file": {
      type: "string",
      arg: "FILE",
      help: "key recover: an exported master key (file or paper form) to regain access with",
    },
    "new-password-file": {
      type: "string",
      arg: "FILE",
      help: "file holding the new password (or COFFER_NEW_PASSWORD)",
    },
    "insecure-password": {
      type: "boolean",
      help: "add/passwd/recover: accept a new password shorter than 8 characters",
    },
    paper: { type: "boolean", help: "export as printable text for paper escrow" },
    output: {
      type: "string",
      short: "o",
      arg: "FILE",
      help: "write the export to FILE (mode 0600) instead of stdout",
    },
  },
  async run(ctx, args) {
    const [sub, arg] = args.positionals;
    if (sub === "recover")
      return recover(ctx, str(args, "master-key-file"), str(args, "new-password-file"));
    const repo = await ctx.repository();
    switch (sub) {
      case "list": {
        const keys = await listKeys(repo);
        if (ctx.out.json) ctx.out.data(keys);
        else {
          ctx.out.line(" ID        User        Host              Created");
          for (const k of keys) {
            ctx.out.line(
              `${k.current ? "*" : " "}${k.id.slice(0, 8)}  ${k.username.padEnd(10)}  ${k.hostname.padEnd(16)}  ${k.created}`,
            );
          }
        }
        return 0;
      }
      case "add": {
        const pw = await newPassword(ctx, str(args, "new-password-file"));
        const id = await addKey(repo, pw, { hostname: ctx.hostname, username: ctx.username });
        if (ctx.out.json) ctx.out.data({ message_type: "key_added", id });
        else ctx.out.line(`saved new key ${id.slice(0, 8)}`);
        return 0;
      }
      case "remove": {
        if (arg === undefined) throw new CofferError("BAD_INPUT", "key remove: give a key ID");
        const removed = await removeKey(repo, arg);
        if (ctx.out.json) ctx.out.data({ message_type: "key_removed", id: removed });
        else ctx.out.line(`removed key ${removed.slice(0, 8)}`);
        return 0;
      }
      case "passwd": {
        const pw = await newPassword(ctx, str(args, "new-password-file"));
        const id = await changePassword(repo, pw, {
          hostname: ctx.hostname,
          username: ctx.username,
        });
        if (ctx.out.json) ctx.out.data({ message_type: "password_changed", id });
        else ctx.out.line(`saved new key ${id.slice(0, 8)} and removed the old one`);
        return 0;
      }
      case "export": {
        const format = flag(args, "paper") ? "paper" : "file";
        const text = exportMasterKey(repo, format);
        const out = str(args, "output");
        if (out !== undefined) {
          await writeFile(out, text, { mode: 0o600, flag: "wx" }).catch((err: unknown) => {
            throw new CofferError("BAD_INPUT", `Cannot write ${out}: ${(err as Error).message}`, {
              cause: err,
            });
          });
          if (ctx.out.json) ctx.out.data({ message_type: "key_exported", format, output: out });
          else
            ctx.out.info(`master key written to ${out}; store it off-site, it decrypts everything`);
        } else if (ctx.out.json) {
          ctx.out.data({ message_type: "master_key", format, text });
        } else {
          ctx.out.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
        }
        return 0;
      }
      default:
        throw new CofferError(
          "BAD_INPUT",
          `key: unknown subcommand "${sub ?? ""}" (list, add, remove, passwd, export)`,
        );
    }
  },
};
