// Tests of the man page generator (scripts/man-pages.mjs).
import assert from "node:assert/strict";
import { test } from "node:test";
import { listedCommands, roffVerbatim } from "./man-pages.mjs";

test("roffVerbatim() keeps help text literal: backslashes, leading dots and quotes", () => {
  assert.equal(
    roffVerbatim("Usage: coffer x\n.hidden\n'quoted\na\\b --exclude '*.log'"),
    ".nf\nUsage: coffer x\n\\&.hidden\n\\&'quoted\na\\eb --exclude '*.log'\n.fi",
  );
});

test("listedCommands() reads the command names under Commands: and stops at the first other line", () => {
  const usage = [
    "Usage: coffer COMMAND [options]",
    "",
    "Commands:",
    "  init         create a new repository",
    "  run-now      a hyphenated name",
    "",
    "Run `coffer COMMAND --help` for a command's options.",
    "  late         not a command",
  ].join("\n");
  assert.deepEqual(listedCommands(usage), ["init", "run-now"]);
});
