import { readdir } from "node:fs/promises";
import { CofferError } from "../../core/errors.ts";
import { Repository } from "../../engine/repository/index.ts";
import type { Storage } from "../../storage/storage.ts";
import { flag, type Command } from "../command.ts";
import { checkNewPassword } from "../password.ts";

/** Directory entries a fresh file system may hold; they do not make a directory "in use". */
const FRESH_FS_ENTRIES = new Set(["lost+found"]);

/**
 * Refuses to create a local repository inside a directory that already holds something
 * (`coffer init -r /etc` would scatter repository folders among the files there). A missing
 * or empty directory is fine. Other backends go by the `config` check in `Repository.init`.
 */
async function requireEmptyDirectory(storage: Storage): Promise<void> {
  const root = (storage as { root?: unknown }).root;
  if (typeof root !== "string" || !storage.location.startsWith("local:")) return;
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return; // missing (created on first write) or unreadable (the write reports it)
  }
  if (entries.includes("config")) return; // Repository.init says "a repository already exists"
  const used = entries.filter((e) => !FRESH_FS_ENTRIES.has(e));
  if (used.length > 0)
    throw new CofferError(
      "BAD_INPUT",
      `Cannot init repository at ${storage.location}: the directory is not empty (${String(used.length)} entr${used.length === 1 ? "y" : "ies"}, e.g. ${used.sort()[0] ?? ""}); use a new or empty directory`,
    );
}

/** `coffer init`: creates a repository. */
export const initCommand: Command = {
  name: "init",
  summary: "create a new repository",
  usage: "init -r REPO [--insecure-password]",
  options: {
    "insecure-password": {
      type: "boolean",
      help: "accept a password shorter than 8 characters",
    },
  },
  async run(ctx, args) {
    const storage = await ctx.storage();
    await requireEmptyDirectory(storage);
    const password = checkNewPassword(
      await ctx.password("enter password for new repository: ", true),
      flag(args, "insecure-password"),
    );
    const repo = await Repository.init(storage, password, {
      hostname: ctx.hostname,
      username: ctx.username,
    });
    if (ctx.out.json) {
      ctx.out.data({ message_type: "initialized", id: repo.id, repository: storage.location });
    } else {
      ctx.out.summary(`created coffer repository ${repo.id.slice(0, 10)} at ${storage.location}`);
      ctx.out.summary("");
      ctx.out.summary("Please note that knowledge of your password is required to access");
      ctx.out.summary("the repository. Losing your password means that your data is");
      ctx.out.summary("irrecoverably lost. Keep the password, and an exported master key");
      ctx.out.summary(
        `(coffer key export -r ${ctx.repoUrl} --paper), somewhere safe and off-site.`,
      );
    }
    return 0;
  },
};
