import { CofferError } from "../../core/errors.ts";
import { systemClock } from "../../core/system.ts";
import { adminActor } from "../../server/audit/admin.ts";
import { parseDuration } from "../../server/config.ts";
import type { ServerConfig } from "../../server/config.ts";
import {
  cancelDeletions,
  cancelSourceDeletions,
  deletionSteps,
  formatDays,
  listDeletions,
  setDeletionDelay,
  setLegalHold,
  type DeletionState,
  type DeletionView,
} from "../../server/deletions/workflow.ts";
import { runMaintenance } from "../../server/retention/maintenance.ts";
import { LocalStorage } from "../../storage/local.ts";
import { join } from "node:path";
import type { CliIo } from "./io.ts";
import { withAdminData } from "./with-metadata.ts";

/** Opens the metadata for one admin command; anchors the audit head it appended to. */
export const withAdminMetadata = withAdminData;

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

function view(d: DeletionView): Record<string, unknown> {
  return {
    id: d.id,
    source: d.source,
    key: d.key,
    reason: d.reason,
    requestedBy: d.requestedBy,
    requestedAt: iso(d.requestedAt),
    executeAfter: iso(d.executeAfter),
    state: d.state,
    frozen: d.state === "PENDING" && d.legalHold,
    stateChangedAt: d.stateChangedAt === null ? null : iso(d.stateChangedAt),
    stateChangedBy: d.stateChangedBy,
  };
}

const STATES: readonly DeletionState[] = ["PENDING", "CANCELLED", "EXECUTED"];

/**
 * `coffer-server deletions list [--source S] [--state STATE|--all] [--json]`,
 * `deletions show ID`, `deletions cancel ID | --source S`, `deletions run` (one
 * retention + GC + executor pass now).
 */
export async function deletionsCommand(
  io: CliIo,
  cfg: ServerConfig,
  sub: string | undefined,
  args: string[],
  o: { json: boolean; source?: string; state?: string; all: boolean; by?: string },
): Promise<void> {
  await withAdminMetadata(cfg, async (m) => {
    const now = systemClock.now();
    const by = o.by ?? adminActor();
    switch (sub) {
      case "list": {
        const source = o.source === undefined ? undefined : await m.sources.require(o.source);
        const state = o.all ? undefined : ((o.state?.toUpperCase() ?? "PENDING") as DeletionState);
        if (state !== undefined && !STATES.includes(state))
          throw new CofferError(
            "BAD_INPUT",
            `Unknown state ${o.state ?? ""}: use pending, cancelled or executed`,
          );
        const list = await listDeletions(m.db, {
          ...(source !== undefined ? { source } : {}),
          ...(state !== undefined ? { state } : {}),
        });
        if (o.json) {
          io.out(JSON.stringify(list.map(view)));
          return;
        }
        if (list.length === 0)
          io.out(
            `No ${state?.toLowerCase() ?? ""} deletions${source !== undefined ? ` for ${source.name}` : ""}.`,
          );
        if (list.length > 0)
          io.out(
            `${"ID".padStart(6)}  ${"STATE".padEnd(9)} ${"SOURCE".padEnd(16)} ${"REASON".padEnd(9)} ${"EXECUTES AFTER".padEnd(30)}  KEY`,
          );
        for (const d of list) {
          const hold = d.state === "PENDING" && d.legalHold ? " (legal hold)" : "";
          io.out(
            `${String(d.id).padStart(6)}  ${d.state.padEnd(9)} ${d.source.padEnd(16)} ${d.reason.padEnd(9)} after ${iso(d.executeAfter)}${hold}  ${d.key}`,
          );
        }
        return;
      }
      case "show": {
        const id = Number(args[0]);
        if (!Number.isSafeInteger(id))
          throw new CofferError("BAD_INPUT", "Usage: coffer-server deletions show ID");
        const d = (await listDeletions(m.db, { id }))[0];
        if (d === undefined) throw new CofferError("NOT_FOUND", `Unknown deletion ${id}`);
        const steps = (await deletionSteps(m.db, id)).map((s) => ({ ...s, at: iso(s.at) }));
        if (o.json) io.out(JSON.stringify({ ...view(d), steps }));
        else {
          io.out(
            Object.entries(view(d))
              .map(([k, v]) => `${k.padEnd(16)} ${String(v)}`)
              .join("\n"),
          );
          for (const s of steps)
            io.out(`  ${s.at} ${s.step}${s.detail !== null ? ` (${s.detail})` : ""}`);
        }
        return;
      }
      case "cancel": {
        let cancelled;
        if (o.source !== undefined) {
          if (args.length > 0)
            throw new CofferError(
              "BAD_INPUT",
              "Usage: coffer-server deletions cancel ID | --source S",
            );
          cancelled = await cancelSourceDeletions(m, await m.sources.require(o.source), by, now);
        } else {
          if (args.length === 0)
            throw new CofferError(
              "BAD_INPUT",
              "Usage: coffer-server deletions cancel ID... | --source S",
            );
          const ids = args.map((a) => {
            const id = Number(a);
            if (!Number.isSafeInteger(id))
              throw new CofferError("BAD_INPUT", `Invalid deletion id ${JSON.stringify(a)}`);
            return id;
          });
          cancelled = await cancelDeletions(m, ids, by, now);
        }
        // A snapshot's deletion takes its manifest's with it: count and name those too.
        const named = new Set(cancelled.map((d) => d.id));
        cancelled = [
          ...cancelled,
          ...(await listDeletions(m.db, { state: "CANCELLED" })).filter(
            (d) => !named.has(d.id) && d.stateChangedBy === by && d.stateChangedAt === now,
          ),
        ];
        if (o.json)
          io.out(JSON.stringify(cancelled.map((d) => ({ id: d.id, key: d.key, state: d.state }))));
        else
          io.out(
            `Cancelled ${cancelled.length} deletion${cancelled.length === 1 ? "" : "s"}${cancelled.length ? ": " + cancelled.map((d) => `${d.id} (${d.key})`).join(", ") : ""}.`,
          );
        return;
      }
      case "run": {
        const storage = new LocalStorage(join(cfg.dataDir, "objects"));
        const r = await runMaintenance(m, storage, now, {
          minDelayMs: cfg.minDeletionDelayMs,
          floor: cfg.retentionFloor,
        });
        const summary = {
          retentionFiled: r.retention.reduce((n, x) => n + x.filed.length, 0),
          gcFiled: r.gc.reduce((n, x) => n + x.filed.length, 0),
          gcIndexesFiled: r.gc.reduce((n, x) => n + (x.indexes?.filed.length ?? 0), 0),
          revived: r.gc.reduce((n, x) => n + x.revived.length, 0),
          executed: r.executor.executed.length,
          held: r.executor.held,
        };
        io.out(
          o.json
            ? JSON.stringify(summary)
            : `Retention filed ${summary.retentionFiled} snapshot(s), GC filed ${summary.gcFiled} pack(s) and ${summary.gcIndexesFiled} index object(s) and revived ${summary.revived}, executed ${summary.executed} deletion(s), ${summary.held} frozen by legal hold.`,
        );
        return;
      }
      default:
        throw new CofferError(
          "BAD_INPUT",
          `Unknown deletions subcommand ${JSON.stringify(sub ?? "")}: use list, show, cancel or run`,
        );
    }
  });
}

/** `coffer-server source hold NAME on|off` and `source delay NAME DURATION`. */
export async function sourceDeletionCommand(
  io: CliIo,
  cfg: ServerConfig,
  sub: "hold" | "delay",
  args: string[],
  json: boolean,
): Promise<void> {
  const [name, value] = args;
  if (name === undefined || value === undefined || args.length > 2) {
    throw new CofferError(
      "BAD_INPUT",
      sub === "hold"
        ? "Usage: coffer-server source hold NAME on|off"
        : "Usage: coffer-server source delay NAME DURATION (e.g. 30d)",
    );
  }
  await withAdminMetadata(cfg, async (m) => {
    if (sub === "hold") {
      if (value !== "on" && value !== "off")
        throw new CofferError(
          "BAD_INPUT",
          `source hold takes on or off, got ${JSON.stringify(value)}`,
        );
      const s = await setLegalHold(m, name, value === "on", adminActor(), systemClock.now());
      const pending = (await listDeletions(m.db, { source: s, state: "PENDING" })).length;
      if (json)
        io.out(
          JSON.stringify({ source: s.name, legalHold: s.legalHold, pendingDeletions: pending }),
        );
      else
        io.out(
          s.legalHold
            ? `Legal hold on for ${s.name}: ${pending} pending deletion(s) frozen.`
            : `Legal hold off for ${s.name}: ${pending} pending deletion(s) run when due.`,
        );
      return;
    }
    let ms: number;
    try {
      ms = parseDuration(value, "delay");
    } catch (err) {
      throw new CofferError(
        "BAD_INPUT",
        `Invalid delay ${JSON.stringify(value)}: use a duration like 30d`,
        { cause: err },
      );
    }
    const s = await setDeletionDelay(
      m,
      name,
      ms,
      cfg.minDeletionDelayMs,
      adminActor(),
      systemClock.now(),
    );
    if (json)
      io.out(JSON.stringify({ source: s.name, deletionDelayDays: s.deletionDelayMs / 86_400_000 }));
    else
      io.out(
        `Deletion delay of ${s.name} is now ${formatDays(s.deletionDelayMs)} (server minimum ${formatDays(cfg.minDeletionDelayMs)}); pending deletions keep their date.`,
      );
  });
}
