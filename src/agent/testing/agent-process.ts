import { spawnCoffer, type CofferChild, type CofferRun } from "../../cli/testing/run-coffer.ts";

/** One event of `coffer agent run --json` (time as ISO text). */
export interface LoggedEvent {
  time: string;
  event: string;
  job?: string;
  message: string;
  result?: string;
  code?: string;
  snapshots?: string[];
  [field: string]: unknown;
}

/**
 * A real `coffer agent run --json` child process whose JSON-lines events are collected as
 * they arrive, with a way to wait for an event (or a condition over all of them).
 */
export class AgentProcess {
  readonly events: LoggedEvent[] = [];
  readonly proc: CofferChild;
  private waiters: (() => void)[] = [];
  private buf = "";
  exited: CofferRun | undefined;

  constructor(config: string, env: Record<string, string> = {}) {
    this.proc = spawnCoffer(["agent", "run", "--json", "--config", config], env);
    this.proc.child.stdout.on("data", (b: Buffer) => {
      this.buf += b.toString("utf8");
      let nl;
      while ((nl = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (line.trim() !== "") this.events.push(JSON.parse(line) as LoggedEvent);
      }
      this.wake();
    });
    void this.proc.done.then((r) => {
      this.exited = r;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves once `pred` holds over the events; rejects (naming `what`) if the agent exits first or after `limitMs`. */
  async until(
    what: string,
    pred: (events: LoggedEvent[]) => boolean,
    limitMs = 120_000,
  ): Promise<void> {
    const deadline = Date.now() + limitMs;
    while (!pred(this.events)) {
      if (this.exited !== undefined)
        throw new Error(
          `agent exited (${String(this.exited.code)}) before: ${what}\n${this.exited.stderr}\n${this.dump()}`,
        );
      if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}\n${this.dump()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 500);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Events of one job and kind. */
  of(job: string, event: string): LoggedEvent[] {
    return this.events.filter((e) => e.job === job && e.event === event);
  }

  /** Every event as text (for failure messages). */
  dump(): string {
    return this.events.map((e) => `${e.time} ${e.event} ${e.job ?? ""} ${e.message}`).join("\n");
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<CofferRun> {
    if (this.exited === undefined) this.proc.child.kill(signal);
    return this.proc.done;
  }
}
