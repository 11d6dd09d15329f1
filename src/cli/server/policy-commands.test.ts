import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runServerCli } from "./run.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

test("policy set/show --json store keep-* counts as numbers and durations as strings", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "coffer-policy-"));
  try {
    const add = capture();
    assert.equal(await runServerCli(["source", "add", "web-01", "--data-dir", dataDir], add.io), 0);
    const set = capture();
    const args = ["policy", "set", "web-01", "--keep-last", "1", "--keep-daily", "7"];
    const code = await runServerCli(
      [...args, "--keep-within", "30d", "--data-dir", dataDir, "--json"],
      set.io,
    );
    assert.equal(code, 0, set.err.join("\n"));
    const show = capture();
    assert.equal(
      await runServerCli(["policy", "show", "web-01", "--json", "--data-dir", dataDir], show.io),
      0,
    );
    for (const text of [set.out.join(""), show.out.join("")]) {
      const doc = JSON.parse(text) as Record<string, unknown>;
      assert.equal(doc.keepLast, 1);
      assert.equal(doc.keepDaily, 7);
      assert.equal(doc.keepWithin, "30d");
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
