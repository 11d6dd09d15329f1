import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCron } from "../cron/cron.ts";
import {
  decide,
  hostOffset,
  lastDue,
  nextDue,
  retryAt,
  retryDeadline,
  type Schedule,
} from "./schedule.ts";

const MIN = 60_000;
const H = 60 * MIN;
const paris = (cron: string): Schedule => ({
  kind: "cron",
  cron: parseCron(cron),
  tz: "Europe/Paris",
});

/** Every run time in [from, to) of a schedule, by repeated nextDue. */
function runs(s: Schedule, offset: number, from: number, to: number): number[] {
  const out: number[] = [];
  for (
    let d = nextDue(s, offset, from - 1);
    d !== undefined && d.at < to;
    d = nextDue(s, offset, d.at)
  )
    out.push(d.at);
  return out;
}

test("nextDue() runs a Paris 03:00 job at 03:00 local time on both sides of spring-forward", () => {
  const s = paris("0 3 * * *");
  // 2026-03-29: Paris jumps from 02:00 CET to 03:00 CEST.
  const at = runs(s, 0, Date.UTC(2026, 2, 28), Date.UTC(2026, 2, 31));
  assert.deepEqual(at, [
    Date.UTC(2026, 2, 28, 2, 0), // 03:00 CET (+01:00)
    Date.UTC(2026, 2, 29, 1, 0), // 03:00 CEST (+02:00)
    Date.UTC(2026, 2, 30, 1, 0),
  ]);
});

test("nextDue() runs a job set inside the skipped hour once, just after the gap (spring-forward)", () => {
  const s = paris("30 2 * * *");
  const at = runs(s, 0, Date.UTC(2026, 2, 28), Date.UTC(2026, 2, 31));
  assert.deepEqual(at, [
    Date.UTC(2026, 2, 28, 1, 30), // 02:30 CET
    Date.UTC(2026, 2, 29, 1, 30), // 02:30 does not exist: 03:30 CEST
    Date.UTC(2026, 2, 30, 0, 30), // 02:30 CEST
  ]);
});

test("nextDue() runs a job set inside the repeated hour once, at its first occurrence (fall-back)", () => {
  const s = paris("30 2 * * *");
  // 2026-10-25: Paris goes from 03:00 CEST back to 02:00 CET; 02:30 happens twice.
  const at = runs(s, 0, Date.UTC(2026, 9, 24), Date.UTC(2026, 9, 27));
  assert.deepEqual(at, [
    Date.UTC(2026, 9, 24, 0, 30), // 02:30 CEST
    Date.UTC(2026, 9, 25, 0, 30), // first 02:30 (CEST), not the second one (01:30Z)
    Date.UTC(2026, 9, 26, 1, 30), // 02:30 CET
  ]);
  // A twice-daily job keeps local noon and midnight across the change.
  const twice = runs(
    paris("0 0,12 * * *"),
    0,
    Date.UTC(2026, 9, 24, 12),
    Date.UTC(2026, 9, 26, 12),
  );
  assert.deepEqual(twice, [
    Date.UTC(2026, 9, 24, 22, 0),
    Date.UTC(2026, 9, 25, 11, 0), // noon CET: 13 hours after midnight CEST
    Date.UTC(2026, 9, 25, 23, 0),
    Date.UTC(2026, 9, 26, 11, 0),
  ]);
});

test("nextDue() with every + window runs once per interval at the host's fixed offset", () => {
  const s: Schedule = { kind: "every", everyMs: H, windowMs: 20 * MIN };
  const offset = hostOffset("s3:https://backup.example.net:8443/web-01", "mongo", 20 * MIN);
  assert.ok(offset >= 0 && offset < 20 * MIN && offset % MIN === 0);
  const at = runs(s, offset, Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1, 5));
  assert.equal(at.length, 5);
  at.forEach((t, i) => {
    assert.equal(t, Date.UTC(2026, 0, 1, i) + offset);
  });
  // Without a window every runs on the interval's boundaries.
  const plain: Schedule = { kind: "every", everyMs: 15 * MIN };
  assert.deepEqual(runs(plain, 0, Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1, 0, 45)), [
    Date.UTC(2026, 0, 1, 0, 0),
    Date.UTC(2026, 0, 1, 0, 15),
    Date.UTC(2026, 0, 1, 0, 30),
  ]);
  assert.deepEqual(lastDue(s, offset, Date.UTC(2026, 0, 1, 3) + offset), {
    slot: Date.UTC(2026, 0, 1, 3),
    at: Date.UTC(2026, 0, 1, 3) + offset,
  });
});

test("hostOffset() is stable across restarts and spreads 1,000 hosts with no minute over 3x the average", () => {
  const window = 60 * MIN;
  const a = hostOffset("s3:https://gw.example.net/web-17", "www", window);
  assert.equal(hostOffset("s3:https://gw.example.net/web-17", "www", window), a);
  assert.notEqual(hostOffset("s3:https://gw.example.net/web-17", "dbs", window), a);
  const perMinute = new Array<number>(60).fill(0);
  for (let i = 0; i < 1000; i++) {
    const off = hostOffset(`s3:https://gw.example.net/host-${String(i)}`, "www", window);
    assert.ok(off >= 0 && off < window && off % MIN === 0);
    perMinute[off / MIN] = (perMinute[off / MIN] ?? 0) + 1;
  }
  const average = 1000 / 60;
  const max = Math.max(...perMinute);
  assert.ok(
    max <= 3 * average,
    `busiest minute has ${String(max)} hosts (average ${average.toFixed(1)})`,
  );
  assert.ok(
    perMinute.every((n) => n > 0),
    "every minute of the window is used",
  );
  // Sub-two-minute windows use whole seconds.
  const sec = hostOffset("local:/srv/repo", "www", 10_000);
  assert.ok(sec >= 0 && sec < 10_000 && sec % 1000 === 0);
  assert.equal(hostOffset("local:/srv/repo", "www", 0), 0);
});

test("decide() catches up a gap once, at the newest missed run time, not as a burst", () => {
  const s = paris("0 * * * *"); // hourly
  const handled = Date.UTC(2026, 0, 10, 8, 0);
  // On time: the next run is due at 10:00 Paris (09:00Z).
  const onTime = decide(s, 0, handled, Date.UTC(2026, 0, 10, 9, 0, 1));
  assert.deepEqual(onTime, {
    run: true,
    due: { slot: Date.UTC(2026, 0, 10, 9, 0), at: Date.UTC(2026, 0, 10, 9, 0) },
    skipped: 0,
    catchUp: false,
  });
  // Down for 5 hours and 20 minutes: one run, for 13:00Z, with the 4 before it folded into it.
  const now = Date.UTC(2026, 0, 10, 13, 20);
  const d = decide(s, 0, handled, now);
  assert.ok(d.run);
  assert.equal(d.due.at, Date.UTC(2026, 0, 10, 13, 0));
  assert.equal(d.skipped, 4);
  assert.equal(d.catchUp, true);
  // Once that run is handled nothing more is due until the next slot.
  const after = decide(s, 0, d.due.at, now + 5 * MIN);
  assert.deepEqual(after, {
    run: false,
    next: { slot: Date.UTC(2026, 0, 10, 14, 0), at: Date.UTC(2026, 0, 10, 14, 0) },
  });
  // A simulated host clock: tick every minute for 6 hours after a 3-hour gap, count runs.
  let last = handled;
  let count = 0;
  let catchUps = 0;
  for (let t = Date.UTC(2026, 0, 10, 11, 30); t < Date.UTC(2026, 0, 10, 17, 30); t += MIN) {
    const x = decide(s, 0, last, t);
    if (x.run) {
      count++;
      if (x.catchUp) catchUps++;
      last = x.due.at;
    }
  }
  assert.equal(catchUps, 1);
  assert.equal(count, 1 + 6); // the catch-up, then 12:00Z..17:00Z
});

test("decide() does not run a new job before its first slot after the agent starts", () => {
  const s: Schedule = { kind: "every", everyMs: 10_000 };
  const start = 1_000_003_000;
  assert.equal(decide(s, 0, start, start + 1000).run, false);
  const d = decide(s, 0, start, start + 7000);
  assert.ok(d.run && d.due.at === 1_000_010_000 && !d.catchUp);
});

test("retryAt() backs off exponentially and stops at the window's end", () => {
  const o = { initialMs: 30_000, maxMs: 4 * MIN, attempts: 10 };
  assert.equal(retryAt(0, 1, o, H), 30_000);
  assert.equal(retryAt(0, 2, o, H), 60_000);
  assert.equal(retryAt(0, 4, o, H), 4 * MIN);
  assert.equal(retryAt(0, 6, o, H), 4 * MIN); // capped
  assert.equal(retryAt(0, 11, o, H), undefined); // out of attempts
  assert.equal(retryAt(58 * MIN, 3, o, H), undefined); // would start after the deadline
  const s: Schedule = { kind: "every", everyMs: H, windowMs: 20 * MIN };
  const due = { slot: 0, at: 5 * MIN };
  assert.equal(retryDeadline(s, 5 * MIN, due), 20 * MIN);
  assert.equal(retryDeadline({ kind: "every", everyMs: H }, 0, { slot: 0, at: 0 }), H);
});
