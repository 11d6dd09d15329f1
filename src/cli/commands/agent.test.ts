import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { AgentProcess, type LoggedEvent } from "../../agent/testing/agent-process.ts";
import { jsonLines, runCoffer } from "../testing/run-coffer.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

interface Setup {
  dir: string;
  repo: string;
  env: Record<string, string>;
  config: string;
}

async function setup(yaml: (dir: string) => string): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), "coffer-agent-"));
  dirs.push(dir);
  const repo = join(dir, "repo");
  await writeFile(join(dir, "pw"), "agent-test-password\n");
  const env = { COFFER_PASSWORD_FILE: join(dir, "pw") };
  const init = await runCoffer(["init", "-r", repo], env);
  assert.equal(init.code, 0, init.stderr);
  const config = join(dir, "agent.yaml");
  await writeFile(
    config,
    `repository: ${repo}\npassword_file: ${join(dir, "pw")}\nstate_dir: ${join(dir, "state")}\n${yaml(dir)}`,
  );
  return { dir, repo, env, config };
}

async function snapshots(s: Setup, tag: string): Promise<{ id: string; tags?: string[] }[]> {
  const r = await runCoffer(["snapshots", "-r", s.repo, "--json"], s.env);
  assert.equal(r.code, 0, r.stderr);
  const all = JSON.parse(r.stdout.toString("utf8")) as { id: string; tags?: string[] }[];
  return all.filter((x) => x.tags?.includes(tag) === true);
}

/** True when the job's runs never overlap: start, done, start, done... */
function alternates(events: LoggedEvent[], job: string): boolean {
  let running = false;
  for (const e of events.filter(
    (x) => x.job === job && (x.event === "start" || x.event === "done"),
  )) {
    if (e.event === "start" && running) return false;
    if (e.event === "done" && !running) return false;
    running = e.event === "start";
  }
  return true;
}

function pingServer(): Promise<{ server: Server; url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? "");
    req.resume();
    req.on("end", () => res.end("OK"));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      resolve({ server, url: `http://127.0.0.1:${String(port)}`, hits });
    });
  });
}

test("coffer agent run: jobs run on schedule and restore, a slow job never overlaps itself, a failing hook fails only its job, run-now and SIGHUP work", async () => {
  const ping = await pingServer();
  const s = await setup(
    (dir) => `concurrency: 3
jobs:
  www:
    files: [${join(dir, "www")}]
    every: 2s
    ping: ${ping.url}/www
  slow:
    command: [sh, -c, "sleep 3; echo slow dump"]
    filename: slow.txt
    every: 1s
    ping: http://127.0.0.1:1/unreachable
  hooked:
    files: [${join(dir, "www")}]
    every: 2s
    hooks: { before: ["echo preparing; exit 7"] }
    ping: ${ping.url}/hooked
`,
  );
  await mkdir(join(s.dir, "www"));
  await writeFile(join(s.dir, "www", "index.html"), "<h1>hello from the agent</h1>\n");
  const agent = new AgentProcess(s.config, s.env);
  try {
    await agent.until("two www runs, two slow runs, a failed hooked run", (ev) => {
      const done = (job: string, result: string): number =>
        ev.filter((e) => e.job === job && e.event === "done" && e.result === result).length;
      return (
        done("www", "success") >= 2 && done("slow", "success") >= 2 && done("hooked", "failed") >= 1
      );
    });
    const failed = agent.of("hooked", "done").find((e) => e.result === "failed");
    assert.ok(failed !== undefined);
    assert.equal(failed.code, "HOOK_FAILED");
    assert.match(
      failed.message,
      /before hook "echo preparing; exit 7" exited with code 7: preparing/,
    );
    // The slow job (3 s, every 1 s) skipped the slots that came while it ran.
    assert.ok(agent.of("slow", "skip").length > 0, agent.dump());

    // run-now goes through the running daemon.
    // www runs every second: on a loaded machine run-now may land while it runs, and is then
    // refused ("already running"); ask again until it lands between two runs.
    let now = await runCoffer(["agent", "run-now", "www", "--config", s.config], s.env);
    for (let i = 0; i < 20 && now.code !== 0 && /already running/.test(now.stderr); i++) {
      await new Promise((r) => setTimeout(r, 200));
      now = await runCoffer(["agent", "run-now", "www", "--config", s.config], s.env);
    }
    assert.equal(now.code, 0, now.stderr);
    assert.match(now.stdout.toString("utf8"), /Job www (started|queued)/);
    await agent.until("a run-now run of www", (ev) =>
      ev.some((e) => e.job === "www" && e.event === "start" && e.message.includes("run-now")),
    );
    const unknown = await runCoffer(["agent", "run-now", "nope", "--config", s.config], s.env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /No job "nope"/);

    // status talks to the daemon.
    const st = await runCoffer(["agent", "status", "--json", "--config", s.config], s.env);
    assert.equal(st.code, 0, st.stderr);
    const status = jsonLines(st.stdout.toString("utf8"))[0] as {
      running: boolean;
      jobs: { job: string; last: { result: string } | null; next: number | null }[];
    };
    assert.equal(status.running, true);
    assert.equal(status.jobs.find((j) => j.job === "hooked")?.last?.result, "failed");
    assert.ok(status.jobs.every((j) => j.next !== null));

    // SIGHUP with a broken file keeps the old configuration and the jobs keep running.
    const good = await readFile(s.config, "utf8");
    await writeFile(s.config, `${good}  broken: { every: 1x }\n`);
    agent.proc.child.kill("SIGHUP");
    await agent.until("the reload refused", (ev) =>
      ev.some(
        (e) =>
          e.event === "reload-failed" && e.message.includes("keeping the previous configuration"),
      ),
    );
    assert.ok(
      agent.events.some(
        (e) =>
          e.event === "reload-failed" && /agent\.yaml:\d+: jobs\.broken\.every: /.test(e.message),
      ),
    );
    const before = agent.of("www", "done").length;
    await agent.until(
      "www runs after the refused reload",
      (ev) => ev.filter((e) => e.job === "www" && e.event === "done").length > before,
    );
    // A valid SIGHUP drops the hooked job.
    await writeFile(s.config, good.replace(/ {2}hooked:[\s\S]*$/, ""));
    agent.proc.child.kill("SIGHUP");
    await agent.until("the reload", (ev) => ev.some((e) => e.event === "reload"));
  } finally {
    const r = await agent.stop();
    ping.server.close();
    assert.equal(r.code, 0, r.stderr);
  }
  assert.ok(alternates(agent.events, "slow"), `slow overlapped itself:\n${agent.dump()}`);
  assert.ok(alternates(agent.events, "www"));
  // Pings: start and success for www, start and fail for hooked; the unreachable one is only logged.
  assert.ok(ping.hits.includes("/www/start") && ping.hits.includes("/www"), ping.hits.join(" "));
  assert.ok(ping.hits.includes("/hooked/fail"), ping.hits.join(" "));
  assert.ok(agent.of("slow", "warning").some((e) => e.message.includes("ping")));
  assert.ok(agent.of("slow", "done").every((e) => e.result !== "failed"));

  // Every www snapshot restores; the hooked job committed nothing.
  const www = await snapshots(s, "job:www");
  assert.ok(www.length >= 2);
  const target = join(s.dir, "restored");
  const rr = await runCoffer(
    ["restore", "-r", s.repo, www[0]?.id ?? "", "--target", target],
    s.env,
  );
  assert.equal(rr.code, 0, rr.stderr);
  assert.equal(
    await readFile(join(target, s.dir, "www", "index.html"), "utf8").catch(() =>
      readFile(join(target, "www", "index.html"), "utf8"),
    ),
    "<h1>hello from the agent</h1>\n",
  );
  const slow = await snapshots(s, "job:slow");
  const dump = await runCoffer(["dump", "-r", s.repo, slow[0]?.id ?? "", "slow.txt"], s.env);
  assert.equal(dump.stdout.toString("utf8"), "slow dump\n");
  assert.deepEqual(await snapshots(s, "job:hooked"), []);
});

test("coffer agent run: SIGTERM in the middle of a backup commits nothing and the agent exits promptly", async () => {
  const s = await setup(
    (dir) => `jobs:
  big:
    command: [sh, -c, "head -c 30000000 /dev/urandom; sleep 600 & echo $! > ${join(dir, "sleep.pid")}; touch ${join(dir, "half")}; wait; echo never"]
    filename: big.bin
    every: 1s
`,
  );
  const agent = new AgentProcess(s.config, s.env);
  await agent.until("the job started", (ev) =>
    ev.some((e) => e.job === "big" && e.event === "start"),
  );
  while (!existsSync(join(s.dir, "half"))) await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  const r = await agent.stop("SIGTERM");
  const took = Date.now() - t0;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(took < 5000, `exited after ${String(took)} ms`); // the behaviour bound
  assert.equal(agent.of("big", "done")[0]?.result, "interrupted");
  assert.deepEqual(await snapshots(s, "job:big"), []);
  process.kill(Number(await readFile(join(s.dir, "sleep.pid"), "utf8"))); // the orphan the shell left
  const check = await runCoffer(["check", "-r", s.repo], s.env);
  assert.equal(check.code, 0, check.stderr + check.stdout.toString("utf8"));
});

test("coffer agent run: after SIGSTOP and SIGCONT a missed run is caught up once", async () => {
  const s = await setup(
    (dir) => `jobs:
  tick:
    command: [echo, tick]
    every: 3s
    tags: [${JSON.stringify(dir.slice(-6))}]
`,
  );
  const agent = new AgentProcess(s.config, s.env);
  try {
    await agent.until("a first run", (ev) =>
      ev.some((e) => e.job === "tick" && e.event === "done"),
    );
    agent.proc.child.kill("SIGSTOP");
    await new Promise((r) => setTimeout(r, 15_000)); // four or five run times go by
    const seen = agent.events.length;
    agent.proc.child.kill("SIGCONT");
    await agent.until(
      "the catch-up and two runs after it",
      (ev) => ev.slice(seen).filter((e) => e.job === "tick" && e.event === "done").length >= 3,
    );
    // One run makes up for the gap (the missed run times folded into it), not a burst of them.
    // (A loaded machine may start a later run a little late; that folds in one at most.)
    const starts = agent.events.slice(seen).filter((e) => e.job === "tick" && e.event === "start");
    const folded = starts.map((e) =>
      Number(/\((\d+) earlier missed run\(s\) folded in\)/.exec(e.message)?.[1] ?? 0),
    );
    assert.ok(starts[0]?.message.includes("catch-up"), agent.dump());
    assert.ok((folded[0] ?? 0) >= 3, agent.dump());
    assert.equal(folded.filter((n) => n >= 3).length, 1, agent.dump());
  } finally {
    await agent.stop();
  }
});

test("coffer agent validate names file, line and field of each mistake; install --print gives a unit systemd accepts", async () => {
  const s = await setup(
    () =>
      `jobs:\n  www: { files: [rel/path], schedule: "61 * * * *" }\n  db: { databases: discover }\n`,
  );
  const r = await runCoffer(["agent", "validate", "--config", s.config], s.env);
  assert.equal(r.code, 2);
  const lines = r.stderr.trim().split("\n");
  assert.deepEqual(lines.slice(0, 3), [
    `${s.config}:5: jobs.www.files.0: rel/path: expected an absolute path`,
    `${s.config}:5: jobs.www.schedule: Invalid cron "61 * * * *": minute "61" is out of range 0-59`,
    `${s.config}:6: jobs.db: has no schedule: give schedule (cron, e.g. "0 3 * * *") or every (e.g. 1h)`,
  ]);
  const unit = await runCoffer(["agent", "install", "--print", "--config", s.config], s.env);
  assert.equal(unit.code, 0, unit.stderr);
  const text = unit.stdout.toString("utf8");
  assert.match(text, /^ExecStart=.* agent run --config /m);
  assert.match(text, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  const file = join(s.dir, "coffer-agent.service");
  await writeFile(file, text);
  const v = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" });
  if (v.error === undefined) assert.equal(v.status, 0, v.stderr);
  const cron = await runCoffer(
    ["agent", "install", "--print", "--crontab", "--config", s.config],
    s.env,
  );
  assert.match(
    cron.stdout.toString("utf8"),
    /^\* \* \* \* \* flock -n .*cron\.lock .* agent run --config /m,
  );
});

test("coffer agent install without systemd adds the crontab line once and says what it did", async () => {
  const s = await setup(() => `jobs:\n  www: { files: [/srv], schedule: "0 3 * * *" }\n`);
  // A stand-in `crontab` keeping the table in a file: `-l` prints it, `-` replaces it.
  const bin = join(s.dir, "bin");
  await mkdir(bin);
  const table = join(s.dir, "crontab.txt");
  await writeFile(
    join(bin, "crontab"),
    `#!/bin/sh\nif [ "$1" = "-l" ]; then cat ${table} 2>/dev/null || { echo "no crontab for root" >&2; exit 1; }; else cat > ${table}; fi\n`,
    { mode: 0o755 },
  );
  await writeFile(table, "0 1 * * * /usr/local/bin/rotate-logs\n");
  const env = { ...s.env, PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` };
  const first = await runCoffer(["agent", "install", "--crontab", "--config", s.config], env);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout.toString("utf8"), /added to the crontab/);
  const lines = (await readFile(table, "utf8")).trim().split("\n");
  assert.equal(lines[0], "0 1 * * * /usr/local/bin/rotate-logs");
  assert.match(lines[2] ?? "", /^\* \* \* \* \* flock -n .* agent run --config /);
  const again = await runCoffer(["agent", "install", "--crontab", "--config", s.config], env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout.toString("utf8"), /already starts the agent; left unchanged/);
  assert.equal((await readFile(table, "utf8")).trim().split("\n").length, lines.length);
});
