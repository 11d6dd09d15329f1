import assert from "node:assert/strict";
import { test } from "node:test";
import { formatMs, runHook } from "./hooks.ts";

const never = new AbortController().signal;

test("runHook() passes the job's environment and reports output and exit code", async () => {
  const ok = await runHook(
    { run: 'echo "job=$COFFER_JOB"', timeoutMs: 30_000 },
    { COFFER_JOB: "www" },
    never,
  );
  assert.deepEqual(ok, { ok: true, detail: "ok", output: ["job=www"] });
  const bad = await runHook(
    { run: "echo first; echo >&2 'disk full'; exit 4", timeoutMs: 30_000 },
    {},
    never,
  );
  assert.deepEqual(bad, {
    ok: false,
    detail: "exited with code 4: disk full",
    output: ["first", "disk full"],
  });
});

test("runHook() kills a hook and its children at the timeout", async () => {
  // The child sleep would keep the pipes open past the shell: the whole group is killed.
  const r = await runHook({ run: "sleep 300 & sleep 300; echo never", timeoutMs: 1000 }, {}, never);
  assert.equal(r.ok, false);
  assert.equal(r.detail, "timed out after 1s");
  assert.deepEqual(r.output, []);
});

test("runHook() stops when the agent shuts down", async () => {
  const ac = new AbortController();
  const p = runHook({ run: "sleep 300", timeoutMs: 600_000 }, {}, ac.signal);
  ac.abort();
  assert.deepEqual(await p, {
    ok: false,
    detail: "stopped: the agent is shutting down",
    output: [],
  });
});

test("formatMs() writes durations as the configuration does", () => {
  assert.deepEqual(
    [formatMs(7_200_000), formatMs(300_000), formatMs(30_000), formatMs(1500)],
    ["2h", "5m", "30s", "1500ms"],
  );
});
