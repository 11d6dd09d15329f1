import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import { MemoryStorage } from "../../storage/memory.ts";
import { backupCommand } from "./stream.ts";
import { testRepository } from "../testing/fixtures.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test(
  "backupCommand() stops on abort even when the command's children keep its pipes open, and commits nothing",
  { timeout: 120_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "coffer-cmd-abort-"));
    dirs.push(dir);
    const storage = new MemoryStorage();
    const repo = await testRepository({ storage });
    const ac = new AbortController();
    const marker = join(dir, "written");
    // `sleep` outlives the shell killed by the abort and holds stdout and stderr open.
    const run = backupCommand(repo, {
      command: "sh",
      args: [
        "-c",
        `head -c 3000000 /dev/zero; sleep 600 & echo $! > ${marker}.pid; touch ${marker}; wait`,
      ],
      filename: "dump.bin",
      signal: ac.signal,
    });
    while (!existsSync(marker)) await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await assert.rejects(run, (err: unknown) => isCofferError(err, "INTERRUPTED"));
    const snapshots: string[] = [];
    for await (const o of storage.list("snapshots/")) snapshots.push(o.key);
    assert.deepEqual(snapshots, []);
    process.kill(Number(await readFile(`${marker}.pid`, "utf8")));
  },
);
