import type { Deletion } from "../deletions.ts";
import { formatInZone } from "../../cron/cron.ts";
import type { Expectation, ExpectationStatus } from "./expectations.ts";

/** A rendered notification (channel-independent). */
export interface Rendered {
  subject: string;
  text: string;
}

function dur(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

/** `cron "0 0,12 * * *" in Europe/Paris, grace 2h` / `every 1h, grace 15m`. */
export function describeSchedule(e: Expectation): string {
  const when = e.cron !== null ? `cron "${e.cron}" in ${e.tz}` : `every ${dur(e.everyMs ?? 0)}`;
  return `${when}, grace ${dur(e.graceMs)}${e.tagMatch !== null ? `, tags ${e.tagMatch}` : ""}`;
}

/** Late, down, reminder and recovered notices for a missed-backup incident. */
export function missedMessage(
  kind: "late" | "down" | "reminder" | "recovered",
  e: Expectation,
  st: ExpectationStatus,
  now: number,
  since: number,
): Rendered {
  const t = (ms: number): string => formatInZone(ms, e.tz);
  const label = `${e.source} (${e.group})`;
  const last = st.lastArrival === null ? "none yet" : t(st.lastArrival);
  const subject = {
    late: `[coffer] ${label}: backup late`,
    down: `[coffer] ${label}: backup DOWN`,
    reminder: `[coffer] reminder: ${label}: backup still ${st.state === "down" ? "DOWN" : "late"}`,
    recovered: `[coffer] ${label}: backup recovered`,
  }[kind];
  const lines = [`Source: ${e.source}`, `Group: ${e.group}`, `Schedule: ${describeSchedule(e)}`];
  if (kind === "recovered") {
    lines.push(`State: up (was missing since ${t(since)})`, `Backup arrived: ${last}`);
  } else {
    lines.push(
      `State: ${st.state === "down" ? "down" : "late"} (${st.missed} missed slot${st.missed === 1 ? "" : "s"})`,
      `Expected by: ${t(st.due + e.graceMs)} (slot ${t(st.due)})`,
      `Last backup: ${last}`,
      `Checked at: ${t(now)}`,
    );
  }
  return { subject, text: lines.join("\n") + "\n" };
}

/** A client-reported failed run. */
export function failedMessage(
  source: string,
  group: string | null,
  tz: string,
  o: { message: string; tags: string[]; key: string; at: number },
): Rendered {
  return {
    subject: `[coffer] ${source}${group !== null ? ` (${group})` : ""}: backup FAILED`,
    text:
      [
        `Source: ${source}`,
        ...(group !== null ? [`Group: ${group}`] : []),
        `Reported at: ${formatInZone(o.at, tz)}`,
        `Tags: ${o.tags.join(", ") || "(none)"}`,
        `Message: ${o.message}`,
        `Status object: ${o.key}`,
      ].join("\n") + "\n",
  };
}

/** A failed group backed up successfully again. */
export function failedRecoveredMessage(
  source: string,
  group: string | null,
  tz: string,
  at: number,
): Rendered {
  return {
    subject: `[coffer] ${source}${group !== null ? ` (${group})` : ""}: backup succeeded again`,
    text: `Source: ${source}\n${group !== null ? `Group: ${group}\n` : ""}Backup arrived: ${formatInZone(at, tz)}\n`,
  };
}

/** User deletions with one cancel command per deletion. */
export function deletionRequestedMessage(source: string, tz: string, rows: Deletion[]): Rendered {
  const first = rows[0];
  const lines = [
    `Source: ${source}`,
    `Requested by: ${first?.requestedBy ?? "?"}`,
    `Requested at: ${formatInZone(first?.requestedAt ?? 0, tz)}`,
    `Executes after: ${formatInZone(first?.executeAfter ?? 0, tz)}`,
    "",
    `Objects (${rows.length}):`,
  ];
  for (const d of rows.slice(0, 20)) lines.push(`  ${d.key}  (deletion ${d.id})`);
  if (rows.length > 20)
    lines.push(
      `  ... and ${rows.length - 20} more (coffer-server deletions list --source ${source})`,
    );
  lines.push("", "If this was not intended, cancel with:");
  for (const d of rows.slice(0, 20)) lines.push(`  coffer-server deletions cancel ${d.id}`);
  return {
    subject: `[coffer] ${source}: deletion requested (${rows.length} object${rows.length === 1 ? "" : "s"})`,
    text: lines.join("\n") + "\n",
  };
}

/** Deletions that were carried out. */
export function deletionExecutedMessage(
  source: string,
  tz: string,
  rows: { id: number; key: string; at: number }[],
): Rendered {
  const lines = [
    `Source: ${source}`,
    `Executed at: ${formatInZone(rows[0]?.at ?? 0, tz)}`,
    `Objects destroyed (${rows.length}):`,
  ];
  for (const d of rows.slice(0, 20)) lines.push(`  ${d.key}  (deletion ${d.id})`);
  if (rows.length > 20) lines.push(`  ... and ${rows.length - 20} more`);
  return {
    subject: `[coffer] ${source}: deletion executed (${rows.length} object${rows.length === 1 ? "" : "s"})`,
    text: lines.join("\n") + "\n",
  };
}

/** A snapshot whose stats deviate from the previous one. */
export function anomalyMessage(
  source: string,
  tz: string,
  o: { snapshot: string; host: string; tags: string[]; at: number; reasons: string[] },
): Rendered {
  return {
    subject: `[coffer] ${source}: anomaly in snapshot ${o.snapshot.slice(0, 8)}`,
    text:
      [
        `Source: ${source}`,
        `Host: ${o.host}`,
        `Tags: ${o.tags.join(", ") || "(none)"}`,
        `Snapshot: ${o.snapshot}`,
        `Committed at: ${formatInZone(o.at, tz)}`,
        ...o.reasons.map((r) => `Anomaly: ${r}`),
      ].join("\n") + "\n",
  };
}

/** Quota near, over, or back to normal. */
export function quotaMessage(
  source: string,
  level: "near" | "over" | "ok",
  bytes: number,
  quota: number,
): Rendered {
  const pct = Math.round((bytes / quota) * 100);
  const subject =
    level === "ok"
      ? `[coffer] ${source}: storage back under quota`
      : `[coffer] ${source}: storage quota ${level === "over" ? "EXCEEDED" : "nearly reached"}`;
  return {
    subject,
    text: `Source: ${source}\nStored: ${bytes} bytes (${pct}% of quota ${quota} bytes)\n`,
  };
}

/** The alerter could not deliver through a channel. */
export function alerterMessage(
  channel: string,
  original: string,
  error: string,
  attempts: number,
): Rendered {
  return {
    subject: `[coffer] alerter cannot send through ${channel}`,
    text: `Channel: ${channel}\nAttempts: ${attempts}\nLast error: ${error}\nUndelivered: ${original}\n`,
  };
}
export { formatInZone as describeTime } from "../../cron/cron.ts";

/** A source committed far more snapshots than expected (count-based retention at risk). */
export function burstMessage(
  source: string,
  tz: string,
  o: { at: number; recent: number; expected: number; limit: number; basis: string },
): Rendered {
  return {
    subject: `[coffer] ${source}: burst of ${o.recent} snapshots in 24 hours`,
    text:
      [
        `Source: ${source}`,
        `Snapshots committed in the 24 hours up to ${formatInZone(o.at, tz)}: ${o.recent}`,
        `Expected: ${o.expected} (from ${o.basis}); alert above ${o.limit}`,
        "A compromised client can push real snapshots out of a count-based policy (keep-last)",
        "with junk ones. Check: coffer-server deletions list --source " + source,
      ].join("\n") + "\n",
  };
}

/** One retention pass filed more than the configured share of a source's snapshots. */
export function retentionShareMessage(
  source: string,
  tz: string,
  o: { at: number; filed: number; total: number; threshold: number },
): Rendered {
  const pct = Math.round((o.filed / Math.max(1, o.total)) * 100);
  return {
    subject: `[coffer] ${source}: retention filed ${pct}% of its snapshots for deletion`,
    text:
      [
        `Source: ${source}`,
        `Retention pass at: ${formatInZone(o.at, tz)}`,
        `Snapshots filed for deletion: ${o.filed} of ${o.total} (threshold ${Math.round(o.threshold * 100)}%)`,
        `If this was not intended: coffer-server deletions cancel --source ${source}`,
      ].join("\n") + "\n",
  };
}
