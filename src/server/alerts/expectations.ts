import { CofferError } from "../../core/errors.ts";
import type { DbInt, Queryable } from "../db/dialect.ts";
import type { DownAfter } from "./alerts-config.ts";
import { nextSlot, parseCron, type Cron } from "../../cron/cron.ts";

/** Monitoring state of an expectation. */
export type ExpectationState = "up" | "late" | "down";

/** "Source S, group G gets a backup on this schedule, within this grace." */
export interface Expectation {
  id: number;
  source: string;
  group: string;
  /** Tag glob a manifest must carry (`db:*`), `!glob` for "none matching", or null for any. */
  tagMatch: string | null;
  cron: string | null;
  tz: string;
  everyMs: number | null;
  graceMs: number;
  downAfter: DownAfter;
  createdAt: number;
  state: ExpectationState;
  stateSince: number;
}

interface Row {
  id: number;
  source: string;
  grp: string;
  tag_match: string | null;
  cron: string | null;
  tz: string;
  every_ms: DbInt | null;
  grace_ms: DbInt;
  down_after: string;
  created_at: DbInt;
  state: ExpectationState;
  state_since: DbInt;
}

const fromRow = (r: Row): Expectation => ({
  id: r.id,
  source: r.source,
  group: r.grp,
  tagMatch: r.tag_match,
  cron: r.cron,
  tz: r.tz,
  everyMs: r.every_ms === null ? null : Number(r.every_ms),
  graceMs: Number(r.grace_ms),
  downAfter: JSON.parse(r.down_after) as DownAfter,
  createdAt: Number(r.created_at),
  state: r.state,
  stateSince: Number(r.state_since),
});

function globRe(glob: string): RegExp {
  return new RegExp(
    "^" +
      glob
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".") +
      "$",
  );
}

/** True when a manifest with `tags` belongs to the expectation's group. */
export function tagsMatch(tagMatch: string | null, tags: readonly string[]): boolean {
  if (tagMatch === null || tagMatch === "") return true;
  const neg = tagMatch.startsWith("!");
  const re = globRe(neg ? tagMatch.slice(1) : tagMatch);
  const any = tags.some((t) => re.test(t));
  return neg ? !any : any;
}

/** Where an expectation stands at `now` given its last arrival. */
export interface ExpectationStatus {
  state: ExpectationState;
  /** The slot the next backup is due for. */
  due: number;
  /** Slots whose grace has passed without a backup. */
  missed: number;
  lastArrival: number | null;
}

const cronCache = new Map<string, Cron>();
function cronOf(expr: string): Cron {
  let c = cronCache.get(expr);
  if (c === undefined) {
    c = parseCron(expr);
    cronCache.set(expr, c);
  }
  return c;
}

/** The first slot strictly after `t`. */
export function slotAfter(e: Pick<Expectation, "cron" | "tz" | "everyMs">, t: number): number {
  if (e.cron !== null) return nextSlot(cronOf(e.cron), e.tz, t) ?? Number.MAX_SAFE_INTEGER;
  return t + (e.everyMs ?? 86_400_000);
}

/**
 * The state at `now`: up until the due slot's grace passes; late after it; down once
 * `downAfter` missed slots (or that long past the grace) have gone by. The baseline before
 * the first backup is the expectation's creation.
 */
export function expectationStatus(
  e: Expectation,
  lastArrival: number | null,
  now: number,
): ExpectationStatus {
  const base = lastArrival ?? e.createdAt;
  const due = slotAfter(e, base);
  if (now < due + e.graceMs) return { state: "up", due, missed: 0, lastArrival };
  let missed = 0;
  for (let s = due; s + e.graceMs <= now && missed < 10_000; s = slotAfter(e, s)) missed++;
  const down =
    "slots" in e.downAfter ? missed >= e.downAfter.slots : now >= due + e.graceMs + e.downAfter.ms;
  return { state: down ? "down" : "late", due, missed, lastArrival };
}

/** Expectations in the metadata database. */
export class ExpectationStore {
  constructor(private readonly db: Queryable) {}

  /** Creates or replaces the expectation of (source, group); its state restarts at up. */
  async set(e: Omit<Expectation, "id" | "state" | "stateSince">): Promise<Expectation> {
    if ((e.cron === null) === (e.everyMs === null))
      throw new CofferError("BAD_INPUT", "An expectation needs exactly one of --cron or --every");
    if (e.cron !== null) parseCron(e.cron);
    await this.db.run(
      `INSERT INTO alert_expectations (source, grp, tag_match, cron, tz, every_ms, grace_ms, down_after, created_at, state, state_since)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'up', ?)
       ON CONFLICT (source, grp) DO UPDATE SET tag_match = excluded.tag_match, cron = excluded.cron, tz = excluded.tz,
         every_ms = excluded.every_ms, grace_ms = excluded.grace_ms, down_after = excluded.down_after`,
      [
        e.source,
        e.group,
        e.tagMatch,
        e.cron,
        e.tz,
        e.everyMs,
        e.graceMs,
        JSON.stringify(e.downAfter),
        e.createdAt,
        e.createdAt,
      ],
    );
    const r = await this.db.get<Row>(
      "SELECT * FROM alert_expectations WHERE source = ? AND grp = ?",
      [e.source, e.group],
    );
    if (r === undefined) throw new CofferError("IO", "expectation vanished after insert");
    return fromRow(r);
  }

  async remove(source: string, group: string): Promise<boolean> {
    return (
      (
        await this.db.run("DELETE FROM alert_expectations WHERE source = ? AND grp = ?", [
          source,
          group,
        ])
      ).changes > 0
    );
  }

  async list(source?: string): Promise<Expectation[]> {
    const rows =
      source === undefined
        ? await this.db.all<Row>("SELECT * FROM alert_expectations ORDER BY source, grp")
        : await this.db.all<Row>("SELECT * FROM alert_expectations WHERE source = ? ORDER BY grp", [
            source,
          ]);
    return rows.map(fromRow);
  }

  async setState(id: number, state: ExpectationState, since: number): Promise<void> {
    await this.db.run("UPDATE alert_expectations SET state = ?, state_since = ? WHERE id = ?", [
      state,
      since,
      id,
    ]);
  }
}
