import { join } from "node:path";
import { describe, test } from "node:test";
import { backupCommand } from "./stream.ts";
import {
  type Expect,
  STRESS_RUNS,
  expectOutcome,
  fixtureDir,
  noiseBytes,
  slowIndexLoad,
} from "../testing/pipe-stress.ts";
import { testRepository } from "../testing/fixtures.ts";

const tiny = Buffer.from("hello\n");
const mid = noiseBytes(300_000, 7);
const large = noiseBytes(6_000_000, 11);
const dir = fixtureDir({ "mid.bin": mid, "large.bin": large });
const at = (f: string): string => join(dir, f);

/** One kind of command output: the shell line that makes it, and what must be stored. */
interface Case {
  name: string;
  sh: string;
  want: Expect;
  /** Delay the index load so the command has exited before the pipe is read. */
  slowIndex?: boolean;
}

const cases: Case[] = [
  { name: "empty output", sh: "true", want: { bytes: Buffer.alloc(0) } },
  { name: "tiny output", sh: "printf 'hello\\n'", want: { bytes: tiny } },
  { name: "mid-size output", sh: `cat ${at("mid.bin")}`, want: { bytes: mid } },
  { name: "large output", sh: `cat ${at("large.bin")}`, want: { bytes: large } },
  {
    name: "tiny output of a command that exits before coffer reads",
    sh: "printf 'hello\\n'",
    want: { bytes: tiny },
    slowIndex: true,
  },
  {
    name: "mid-size output of a command that exits before coffer reads",
    sh: `cat ${at("mid.bin")}`,
    want: { bytes: mid },
    slowIndex: true,
  },
  {
    name: "a command killed mid-way",
    sh: `cat ${at("mid.bin")}; kill -9 $$`,
    want: { refused: /was killed by SIGKILL/ },
  },
  {
    name: "a command killed mid-way before coffer reads",
    sh: `printf 'hello\\n'; kill -9 $$`,
    want: { refused: /was killed by SIGKILL/ },
    slowIndex: true,
  },
  {
    name: "a command that fails after writing",
    sh: `cat ${at("mid.bin")}; exit 4`,
    want: { refused: /exited with code 4/ },
  },
];

describe(`backupCommand() under stress: ${String(STRESS_RUNS)} runs per kind of output`, () => {
  for (const c of cases) {
    test(`backupCommand() commits exactly the bytes of ${c.name}, or nothing`, async () => {
      const repo = await testRepository({ seed: c.name });
      if (c.slowIndex === true) slowIndexLoad(repo, 30);
      for (let i = 0; i < STRESS_RUNS; i++) {
        await expectOutcome(repo, `${c.name}, run ${String(i + 1)}`, c.want, () =>
          backupCommand(repo, { command: "sh", args: ["-c", c.sh], filename: "out", workers: 1 }),
        );
      }
    });
  }
});
