import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jsonLines, runCoffer, type CofferRun, type SpawnOptions } from "./run-coffer.ts";

/** A scratch directory with an initialised repository, for CLI end-to-end tests. */
export interface CliFixture {
  dir: string;
  repo: string;
  password: string;
  /** `COFFER_REPOSITORY` and `COFFER_PASSWORD` for this repository (plus `extra`). */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Runs `coffer` against this repository. */
  run(
    args: string[],
    extra?: Record<string, string>,
    stdin?: Buffer | string,
    opts?: SpawnOptions,
  ): Promise<CofferRun>;
  /** Runs `coffer ... --json`, asserts the exit code, and returns stdout's JSON lines. */
  json(args: string[], code?: number, extra?: Record<string, string>): Promise<unknown[]>;
  remove(): Promise<void>;
}

/** Makes a scratch directory and runs `coffer init` in it. */
export async function cliFixture(prefix = "coffer-cli-"): Promise<CliFixture> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const repo = join(dir, "repo");
  const password = "correct horse";
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    COFFER_REPOSITORY: repo,
    COFFER_PASSWORD: password,
    ...extra,
  });
  const run = (
    args: string[],
    extra: Record<string, string> = {},
    stdin?: Buffer | string,
    opts: SpawnOptions = {},
  ): Promise<CofferRun> => runCoffer(args, env(extra), stdin, opts);
  const init = await run(["init"]);
  assert.equal(init.code, 0, init.stderr);
  return {
    dir,
    repo,
    password,
    env,
    run,
    async json(args, code = 0, extra = {}) {
      const r = await run([...args, "--json"], extra);
      assert.equal(r.code, code, `coffer ${args.join(" ")}: ${r.stderr}`);
      return jsonLines(r.stdout.toString("utf8"));
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The last JSON line (a command's summary) as a record. */
export function lastJson(lines: unknown[]): Record<string, unknown> {
  const last = lines[lines.length - 1];
  assert.ok(last !== null && typeof last === "object", "no JSON summary");
  return last as Record<string, unknown>;
}
