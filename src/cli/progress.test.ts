import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { FakeClock } from "../core/deps.ts";
import type { CliIO } from "./io.ts";
import { Output } from "./output.ts";
import { Progress } from "./progress.ts";

/** A Progress drawing on a fake terminal; `last()` is the line drawn last. */
function onTerminal(json = false) {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const err = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
  let text = "";
  err.on("data", (b: Buffer) => (text += b.toString()));
  const io: CliIO = {
    env: {},
    cwd: "/",
    stdout: new PassThrough(),
    stderr: err,
    stdin: new PassThrough(),
    clock,
    signal: new AbortController().signal,
  };
  const progress = new Progress(io, new Output(io, json), "backup");
  const last = (): string => {
    const parts = text.split(json ? "\n" : "\r\x1b[K").filter((l) => l !== "");
    return parts[parts.length - 1] ?? "";
  };
  const step = (files: number, bytes: number): string => {
    clock.advance(1000);
    progress.update({ files, bytes });
    return last();
  };
  return { progress, step };
}

test("Progress shows no percentage or ETA from a scan still running, and never a total below what is done", () => {
  const { progress, step } = onTerminal();
  progress.setTotals(8854, 90 << 20); // the scan so far
  let line = step(8959, 100 << 20); // the backup is ahead of the scan
  assert.doesNotMatch(line, /%|ETA|8959\/8854/);
  assert.match(line, / 8959 files /);
  progress.setTotals(9500, 120 << 20);
  line = step(9000, 101 << 20);
  assert.match(line, / 9000\/9500\+ files /);
  assert.doesNotMatch(line, /%|ETA/);
  progress.setTotals(9500, 120 << 20, true); // the scan is done
  line = step(9100, 102 << 20);
  assert.match(line, / 85\.0% \[/);
  assert.match(line, / 9100\/9500 files .* ETA \d+:\d\d$/);
  // Totals overtaken even when final (a file grew after the scan): not shown, no 100% early.
  line = step(9600, 121 << 20);
  assert.doesNotMatch(line, /%|ETA|\/9500/);
});

test("Progress JSON status has totals and a percentage only once the scan is done", () => {
  const { progress, step } = onTerminal(true);
  progress.setTotals(10, 1000);
  let s = JSON.parse(step(12, 1200)) as Record<string, unknown>;
  assert.equal(s.total_files, undefined);
  assert.equal(s.percent_done, undefined);
  progress.setTotals(20, 2000, true);
  s = JSON.parse(step(12, 1200)) as Record<string, unknown>;
  assert.equal(s.total_files, 20);
  assert.equal(s.percent_done, 0.6);
});
