import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";
import { subcommandsFromUsage } from "./completion.ts";
import { runCoffer } from "./testing/run-coffer.ts";

const serverMain = fileURLToPath(new URL("./server/main.ts", import.meta.url));
const tsx = import.meta.resolve("tsx");
const dir = mkdtempSync(join(tmpdir(), "coffer-completion-"));

function server(args: string[]) {
  return spawnSync(process.execPath, ["--import", tsx, serverMain, ...args], { encoding: "utf8" });
}

/** The script `program completion shell` prints, saved to a file. */
async function script(program: "coffer" | "coffer-server", shell: "bash" | "zsh") {
  const text =
    program === "coffer"
      ? (await runCoffer(["completion", shell])).stdout.toString()
      : server(["completion", shell]).stdout;
  assert.ok(text.length > 0, `${program} completion ${shell} printed nothing`);
  const file = join(dir, `${program}.${shell}`);
  writeFileSync(file, text);
  return file;
}

/** Completes the last word of `line` in real bash with the generated script. */
function bashComplete(file: string, fn: string, line: string[]): string[] {
  const words = line.map((w) => `'${w}'`).join(" ");
  const out = execFileSync("bash", [
    "-c",
    `source '${file}'; COMP_WORDS=(${words}); COMP_CWORD=${String(line.length - 1)}; ${fn}; printf '%s\\n' "\${COMPREPLY[@]}"`,
  ]).toString();
  return out.split("\n").filter((l) => l !== "");
}

/**
 * Completes the last word of `line` in real zsh: the generated function runs with `words`,
 * `CURRENT` and `PREFIX` set as zsh's completion system sets them; compadd/_describe/_files
 * print what they would offer.
 */
function zshComplete(file: string, fn: string, line: string[]): string[] {
  const words = line.map((w) => `'${w}'`).join(" ");
  const out = execFileSync("zsh", [
    "-f",
    "-c",
    [
      "compdef() { :; }",
      'compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }',
      "_describe() { local -a c; c=(${(P)${@[-1]}}); print -l -- ${c%%:*}; }",
      "_files() { print -- FILES; }",
      `source '${file}'`,
      `words=(${words}); CURRENT=${String(line.length)}; PREFIX='${line[line.length - 1] ?? ""}'`,
      `${fn} | grep -- "^$PREFIX"`,
    ].join("\n"),
  ]).toString();
  return out.split("\n").filter((l) => l !== "");
}

describe("shell completion for coffer and coffer-server (slow: real processes)", () => {
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test("subcommandsFromUsage() reads subcommands, not placeholders, from usage text", () => {
    assert.deepEqual(
      subcommandsFromUsage("key", "key list | add [--x F] | remove ID | export [--paper]"),
      ["list", "add", "remove", "export"],
    );
    assert.deepEqual(subcommandsFromUsage("agent", "agent run|validate|status [--config F]"), [
      "run",
      "validate",
      "status",
    ]);
    assert.deepEqual(
      subcommandsFromUsage(
        "db",
        "db backup --type postgres|mysql (--db N | --all)\n  coffer db list",
      ),
      ["backup", "list"],
    );
    assert.deepEqual(subcommandsFromUsage("restore", "restore SNAPSHOT|latest --target DIR"), []);
    assert.deepEqual(subcommandsFromUsage("backup", "backup [options] PATH... | --stdin"), []);
  });

  for (const [shell, complete] of [
    ["bash", bashComplete],
    ["zsh", zshComplete],
  ] as const) {
    test(`${shell}: coffer completes commands, subcommands and each command's options`, async () => {
      const file = await script("coffer", shell);
      const fn = shell === "bash" ? "_coffer_complete" : "_coffer";
      assert.deepEqual(complete(file, fn, ["coffer", "ba"]), ["backup"]);
      assert.deepEqual(complete(file, fn, ["coffer", "key", "pa"]), ["passwd"]);
      assert.ok(
        complete(file, fn, ["coffer", "backup", "--stdin"]).includes("--stdin-from-command"),
      );
      assert.deepEqual(complete(file, fn, ["coffer", "check", "--read-data-"]), [
        "--read-data-subset",
      ]);
      assert.deepEqual(complete(file, fn, ["coffer", "init", "--ins"]), ["--insecure-password"]);
      assert.deepEqual(complete(file, fn, ["coffer", "completion", "z"]), ["zsh"]);
    });

    test(`${shell}: coffer-server completes commands, subcommands and options`, async () => {
      const file = await script("coffer-server", shell);
      const fn = shell === "bash" ? "_coffer_server_complete" : "_coffer_server";
      assert.deepEqual(complete(file, fn, ["coffer-server", "del"]), ["deletions"]);
      assert.deepEqual(complete(file, fn, ["coffer-server", "source", "rot"]), [
        "rotate-credentials",
      ]);
      assert.deepEqual(complete(file, fn, ["coffer-server", "start", "--li"]), ["--listen"]);
      assert.deepEqual(complete(file, fn, ["coffer-server", "audit", "ver"]), ["verify"]);
    });
  }

  test("coffer-server --version, version and SUBCOMMAND --help print and exit 0", () => {
    for (const args of [["--version"], ["version"]]) {
      const r = server(args);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^coffer-server \d+\.\d+\.\d+ \(node v\d+/);
    }
    const h = server(["source", "add", "--help"]);
    assert.equal(h.status, 0, h.stderr);
    assert.match(h.stdout, /coffer-server source add NAME/);
    assert.doesNotMatch(h.stdout, /deletions/);
    for (const cmd of ["start", "deletions", "policy", "audit", "alerts"]) {
      const r = server([cmd, "--help"]);
      assert.equal(r.status, 0, `${cmd} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`coffer-server ${cmd} `));
      assert.equal(r.stderr, "");
    }
  });

  test("coffer version and coffer --version print the package version", async () => {
    for (const args of [["version"], ["--version"]]) {
      const r = await runCoffer(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout.toString(), /^coffer 0\.1\.0 \(node v\d+/);
    }
  });
});
