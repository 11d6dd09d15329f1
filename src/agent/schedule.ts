import { createHash } from "node:crypto";
import { nextSlot, prevSlot, type Cron } from "../cron/cron.ts";

/**
 * When a job runs: cron slots in an IANA time zone, or every `everyMs` (slots at multiples of
 * the interval since the Unix epoch). With a `windowMs`, each host runs at a fixed offset
 * inside the window after every slot ({@link hostOffset}), so a fleet does not start at once.
 */
export type Schedule =
  | { kind: "cron"; cron: Cron; tz: string; windowMs?: number }
  | { kind: "every"; everyMs: number; windowMs?: number };

/**
 * The fixed offset of one host's runs inside a window: a hash of the repository and the job,
 * so it is the same across restarts and different across hosts (each host has its own
 * repository). Whole minutes for windows of two minutes or more, whole seconds below that.
 */
export function hostOffset(repository: string, job: string, windowMs: number): number {
  if (windowMs <= 0) return 0;
  const unit = windowMs >= 120_000 ? 60_000 : 1000;
  const steps = Math.max(1, Math.floor(windowMs / unit));
  const h = createHash("sha256").update(`${repository}\0${job}`).digest();
  // 48 bits of hash: the modulo bias is negligible for any realistic window.
  return (h.readUIntBE(0, 6) % steps) * unit;
}

/** The first schedule slot strictly after `t` (not yet offset), or undefined if none. */
export function slotAfter(s: Schedule, t: number): number | undefined {
  if (s.kind === "cron") return nextSlot(s.cron, s.tz, t);
  return (Math.floor(t / s.everyMs) + 1) * s.everyMs;
}

/** The last schedule slot at or before `t` (not yet offset), or undefined if none. */
export function slotAtOrBefore(s: Schedule, t: number): number | undefined {
  if (s.kind === "cron") return prevSlot(s.cron, s.tz, t);
  return Math.floor(t / s.everyMs) * s.everyMs;
}

/** A run time: the slot it belongs to and when it starts (slot + offset). */
export interface Due {
  slot: number;
  at: number;
}

/** The first run time strictly after `t`, for a host whose offset is `offset`. */
export function nextDue(s: Schedule, offset: number, t: number): Due | undefined {
  const slot = slotAfter(s, t - offset);
  return slot === undefined ? undefined : { slot, at: slot + offset };
}

/** The last run time at or before `t`, for a host whose offset is `offset`. */
export function lastDue(s: Schedule, offset: number, t: number): Due | undefined {
  const slot = slotAtOrBefore(s, t - offset);
  return slot === undefined ? undefined : { slot, at: slot + offset };
}

/** What the scheduler should do about one job at `now`. */
export type Decision =
  | { run: false; next: Due | undefined }
  | {
      run: true;
      /** The newest run time at or before `now`: it becomes the job's last handled run. */
      due: Due;
      /** Run times between the last handled one and `due` that are folded into this run. */
      skipped: number;
      /** `due` is older than the tick granularity: the agent was down, stopped or busy. */
      catchUp: boolean;
    };

/**
 * Decides whether a job is due at `now`, given the last run time it handled (`handled`: the
 * `at` of its last {@link Due}, or the agent's start for a new job). Every run time missed
 * since then collapses into one run now: after downtime a job is caught up once, never in a
 * burst. `lateMs` is how late a run may be and still count as on time (not a catch-up).
 */
export function decide(
  s: Schedule,
  offset: number,
  handled: number,
  now: number,
  lateMs = 5000,
): Decision {
  const first = nextDue(s, offset, handled);
  if (first === undefined || first.at > now) return { run: false, next: first };
  const due = lastDue(s, offset, now) ?? first;
  let skipped = 0;
  for (let d = first; d.at < due.at && skipped < 10_000;) {
    skipped++;
    const n = nextDue(s, offset, d.at);
    if (n === undefined) break;
    d = n;
  }
  return { run: true, due, skipped, catchUp: now - due.at > lateMs || skipped > 0 };
}

/**
 * When a failed run may be retried: `attempt` (1 for the first retry) doubles the delay from
 * `initialMs` up to `maxMs`. Undefined when the retry would start after `deadline` (the end
 * of the run's window, or its next run), so a transient failure is retried within the
 * window and never overlaps the next run.
 */
export function retryAt(
  failedAt: number,
  attempt: number,
  o: { initialMs: number; maxMs: number; attempts: number },
  deadline: number,
): number | undefined {
  if (attempt > o.attempts) return undefined;
  const delay = Math.min(o.maxMs, o.initialMs * 2 ** Math.max(0, attempt - 1));
  const at = failedAt + delay;
  return at < deadline ? at : undefined;
}

/**
 * The deadline for retries of the run that started for `due`: the end of its window when the
 * schedule has one, else the next run time.
 */
export function retryDeadline(s: Schedule, offset: number, due: Due): number {
  const next = nextDue(s, offset, due.at)?.at ?? Number.MAX_SAFE_INTEGER;
  if (s.windowMs !== undefined && s.windowMs > 0) return Math.min(due.slot + s.windowMs, next);
  return next;
}
