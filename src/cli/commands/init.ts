import { Repository } from "../../engine/repository.ts";
import type { Command } from "../command.ts";

/** `coffer init`: creates a repository. */
export const initCommand: Command = {
  name: "init",
  summary: "create a new repository",
  usage: "init -r REPO",
  options: {},
  async run(ctx) {
    const storage = await ctx.storage();
    const password = await ctx.password("enter password for new repository: ", true);
    const repo = await Repository.init(storage, password, {
      hostname: ctx.hostname,
      username: ctx.username,
    });
    if (ctx.out.json) {
      ctx.out.data({ message_type: "initialized", id: repo.id, repository: storage.location });
    } else {
      ctx.out.line(`created coffer repository ${repo.id.slice(0, 10)} at ${storage.location}`);
      ctx.out.line("");
      ctx.out.line("Please note that knowledge of your password is required to access");
      ctx.out.line("the repository. Losing your password means that your data is");
      ctx.out.line("irrecoverably lost. Keep the password, and an exported master key");
      ctx.out.line(`(coffer key export -r ${ctx.repoUrl} --paper), somewhere safe and off-site.`);
    }
    return 0;
  },
};
