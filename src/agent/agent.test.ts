import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../core/deps.ts";
import { Agent, type AgentEvent } from "./agent.ts";
import { parseAgentConfig, type AgentConfig, type JobConfig } from "./config.ts";
import type { RunOutcome, RunResult } from "./run-job.ts";
import type { AgentState } from "./state.ts";

const T0 = Date.UTC(2026, 0, 10, 8, 0, 0);

function config(yaml: string): AgentConfig {
  const r = parseAgentConfig("agent.yaml", `repository: /srv/repo\n${yaml}`, { defaultTz: "UTC" });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

/** An agent on a fake clock whose job runs end when the test says so. */
class Harness {
  readonly clock = new FakeClock(T0);
  readonly events: AgentEvent[] = [];
  readonly started: { job: string; at: number; finish(r: RunResult, code?: string): void }[] = [];
  readonly reported: RunOutcome[] = [];
  readonly pings: string[] = [];
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  saved: AgentState | undefined;
  /** Timers asked for with no delay (a busy loop shows up as many of them). */
  immediate = 0;
  readonly agent: Agent;

  constructor(
    cfg: AgentConfig,
    readonly state: AgentState = { version: 1, pid: 1, jobs: {} },
  ) {
    this.agent = new Agent(cfg, state, {
      clock: this.clock,
      setTimer: (fn, ms) => {
        if (ms === 0) this.immediate++;
        const t = { at: this.clock.now() + ms, fn, live: true };
        this.timers.push(t);
        return {
          clear: () => {
            t.live = false;
          },
        };
      },
      run: (job: JobConfig) =>
        new Promise<RunOutcome>((resolve) => {
          const start = this.clock.now();
          this.started.push({
            job: job.name,
            at: start,
            finish: (result, code) => {
              resolve({
                job: job.name,
                start,
                end: this.clock.now(),
                result,
                transient: code === "NETWORK",
                ...(code !== undefined
                  ? { code: code as "NETWORK", error: `failed: ${code}` }
                  : {}),
                bytesRead: 0,
                bytesAdded: 0,
                snapshots: [],
                log: [],
              });
            },
          });
        }),
      report: (o) => {
        this.reported.push(o);
        return Promise.resolve();
      },
      ping: (url, kind) => {
        this.pings.push(`${kind} ${url}`);
        return Promise.resolve(undefined);
      },
      log: (e) => this.events.push(e),
      save: (s) => {
        this.saved = s;
        return Promise.resolve();
      },
    });
  }

  /** Moves the clock forward second by second, firing timers as they come due. */
  async advance(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      this.clock.advance(1000);
      for (const t of this.timers.filter((x) => x.live && x.at <= this.clock.now())) {
        t.live = false;
        t.fn();
      }
      await new Promise((r) => setImmediate(r));
    }
  }

  running(job: string): { finish(r: RunResult, code?: string): void } {
    const s = this.started.filter((x) => x.job === job).pop();
    assert.ok(s, `${job} never started`);
    return s;
  }

  async settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }
}

test("Agent runs at most `concurrency` jobs at once and starts waiting ones as others finish", async () => {
  const h = new Harness(
    config(
      "concurrency: 2\njobs:\n  a: { files: [/a], every: 1m }\n  b: { files: [/b], every: 1m }\n  c: { files: [/c], every: 1m }\n",
    ),
  );
  h.agent.start();
  await h.advance(60_000);
  assert.deepEqual(
    h.started.map((s) => s.job),
    ["a", "b"],
  );
  h.running("a").finish("success");
  await h.settle();
  assert.deepEqual(
    h.started.map((s) => s.job),
    ["a", "b", "c"],
  );
  // b still runs at the next slot: its slot is skipped, not queued behind it; a takes the
  // free place and c waits for one.
  h.running("c").finish("success");
  await h.advance(60_000);
  assert.deepEqual(
    h.started.map((s) => s.job),
    ["a", "b", "c", "a"],
  );
  h.running("b").finish("success");
  await h.settle();
  assert.deepEqual(
    h.started.map((s) => s.job),
    ["a", "b", "c", "a", "c"],
  );
  assert.ok(h.events.some((e) => e.job === "b" && e.event === "skip"));
});

test("Agent retries a transient failure with backoff inside the window, and a permanent one not at all", async () => {
  const h = new Harness(
    config(
      "concurrency: 2\nretry: { initial: 10s, max: 1m }\njobs:\n  net: { files: [/a], every: 1h, window: 30m, ping: https://hc/x }\n  pw: { files: [/b], every: 1h, window: 30m }\n",
    ),
  );
  h.agent.start();
  // Up to the first run of both, wherever in the window their hosts' offsets put them.
  while (new Set(h.started.map((x) => x.job)).size < 2) await h.advance(1000);
  h.running("net").finish("failed", "NETWORK");
  h.running("pw").finish("failed", "WRONG_PASSWORD");
  await h.settle();
  const netFailedAt = h.clock.now();
  await h.advance(10_000);
  assert.equal(h.started.filter((s) => s.job === "net").length, 2, "retried after 10 s");
  assert.equal(
    h.started.filter((s) => s.job === "pw").length,
    1,
    "a wrong password is not retried",
  );
  assert.equal(h.started.filter((s) => s.job === "net")[1]?.at, netFailedAt + 10_000);
  // A permanent failure is reported (and pinged) at once; a transient one only once it gives up.
  assert.deepEqual(
    h.reported.map((o) => o.job),
    ["pw"],
  );
  h.running("net").finish("success");
  await h.settle();
  assert.deepEqual(
    h.reported.map((o) => `${o.job} ${o.result}`),
    ["pw failed", "net success"],
  );
  assert.deepEqual(h.pings, ["start https://hc/x", "success https://hc/x"]);
});

test("Agent catches up once after a restart that missed runs, and continues its schedule", async () => {
  const first = new Harness(config("jobs:\n  a: { files: [/a], every: 1h }\n"));
  first.agent.start();
  await first.advance(3_600_000);
  first.running("a").finish("success");
  await first.settle();
  await first.agent.stop();
  const saved = first.saved;
  assert.ok(saved);
  assert.equal(saved.jobs.a?.runs, 1);
  // Down for 5 hours.
  const second = new Harness(
    config("jobs:\n  a: { files: [/a], every: 1h }\n"),
    structuredClone(saved),
  );
  second.clock.set(first.clock.now() + 5 * 3_600_000 + 20 * 60_000);
  second.agent.start();
  await second.settle();
  assert.equal(second.started.length, 1);
  assert.match(
    String(second.events.find((e) => e.event === "start")?.message),
    /catch-up .*\(4 earlier missed run\(s\) folded in\)/,
  );
  second.running("a").finish("success");
  await second.advance(60 * 60_000);
  assert.equal(second.started.length, 2, "then the next hour, once");
});

test("Agent.runNow() starts a job outside its schedule but never a second copy", async () => {
  const h = new Harness(config('jobs:\n  a: { files: [/a], schedule: "0 3 * * *" }\n'));
  h.agent.start();
  assert.deepEqual(h.agent.runNow("a"), { ok: true, message: "Job a started" });
  assert.equal(h.agent.runNow("a").ok, false);
  assert.match(h.agent.runNow("zz").message, /No job "zz" \(jobs: a\)/);
  h.running("a").finish("success");
  await h.settle();
  assert.equal(h.agent.status()[0]?.last?.result, "success");
  assert.equal(h.agent.status()[0]?.next, Date.UTC(2026, 0, 11, 3, 0));
});

test("Agent drops a due retry that a run-now run supersedes, instead of waking up in a loop", async () => {
  const h = new Harness(
    config('retry: { initial: 10s }\njobs:\n  a: { files: [/a], schedule: "0 3 * * *" }\n'),
  );
  h.agent.start();
  assert.equal(h.agent.runNow("a").ok, true);
  h.running("a").finish("failed", "NETWORK");
  await h.settle();
  assert.ok(h.agent.status()[0]?.retry !== null, "a retry is pending");
  assert.equal(h.agent.runNow("a").ok, true); // runs before the retry is due
  const before = h.immediate;
  await h.advance(30_000); // the retry's time passes while that run goes on
  assert.ok(h.immediate - before <= 1, `${String(h.immediate - before)} zero-delay wake-ups`);
  assert.equal(h.agent.status()[0]?.retry, null);
  assert.equal(h.started.length, 2);
});
