import { CofferError } from "../../core/errors.ts";
import { systemClock } from "../../core/system.ts";
import { parsePolicyFlags } from "../../retention/index.ts";
import { FLAG_KEYS } from "../../retention/parse-policy.ts";
import type { ServerConfig } from "../../server/config.ts";
import {
  mergePolicy,
  PolicyStore,
  type PolicyDocument,
} from "../../server/retention/policy-store.ts";
import { adminActor } from "../../server/audit/admin.ts";
import { runRetention } from "../../server/retention/run-retention.ts";
import { withAdminMetadata } from "./deletions-commands.ts";
import type { CliIo } from "./io.ts";

/** Keep-rule flags of `policy set` (same names as `coffer forget`). */
export const POLICY_VALUED = [
  "preset",
  "keep-last",
  "keep-hourly",
  "keep-daily",
  "keep-weekly",
  "keep-monthly",
  "keep-yearly",
  "keep-within",
  "keep-within-hourly",
  "keep-within-daily",
  "keep-within-weekly",
  "keep-within-monthly",
  "keep-within-yearly",
] as const;
/** Repeatable policy flags. */
export const POLICY_REPEATED = ["keep-tag", "tier"] as const;

/** Policy flags → (validated) policy-document rules. */
export function rulesFromFlags(flags: Record<string, string | string[]>): Record<string, unknown> {
  parsePolicyFlags(flags); // validates with flag names in the messages
  const out: Record<string, unknown> = {};
  for (const [f, v] of Object.entries(flags)) {
    const k = f === "group-by" ? undefined : FLAG_KEYS[f];
    // Counts are stored as JSON numbers (`"keepLast":1`), as a policy file writes them.
    const isCount = k !== undefined && /^keep(Last|Hourly|Daily|Weekly|Monthly|Yearly)$/.test(k);
    if (k !== undefined)
      out[k] = isCount && typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  }
  return out;
}

function describe(doc: PolicyDocument): string {
  const rules = (o: Record<string, unknown>): string =>
    Object.entries(o)
      .filter(([k]) => k !== "groups" && k !== "groupBy" && k !== "name" && k !== "match")
      .map(
        ([k, v]) =>
          `${k}=${Array.isArray(v) ? v.join(",") : typeof v === "string" ? v : JSON.stringify(v)}`,
      )
      .join(" ") || "(keep everything)";
  const lines = [
    `default: ${rules(doc)}${doc.groupBy !== undefined ? `  (group by ${JSON.stringify(doc.groupBy)})` : ""}`,
  ];
  for (const g of doc.groups ?? []) lines.push(`group ${JSON.stringify(g.name)}: ${rules(g)}`);
  return lines.join("\n");
}

/**
 * `coffer-server policy set NAME (--preset P | --keep-* … | --tier D:K …) [--group SEL] [--group-by G]`,
 * `policy show NAME [--json]`, `policy remove NAME [--group SEL]`,
 * `policy run NAME [--dry-run] [--json]` (retention now; dry run files nothing).
 */
export async function policyCommand(
  io: CliIo,
  cfg: ServerConfig,
  sub: string | undefined,
  args: string[],
  o: {
    json: boolean;
    dryRun: boolean;
    group?: string;
    groupBy?: string;
    flags: Record<string, string | string[]>;
  },
): Promise<void> {
  const name = args[0];
  if (name === undefined || args.length > 1)
    throw new CofferError(
      "BAD_INPUT",
      `Usage: coffer-server policy ${sub ?? "set|show|remove|run"} SOURCE [options]`,
    );
  await withAdminMetadata(cfg, async (m) => {
    const s = await m.sources.require(name);
    const store = new PolicyStore(m.db);
    const now = systemClock.now();
    const current = await store.get(s.bucket);
    switch (sub) {
      case "set": {
        if (Object.keys(o.flags).length === 0)
          throw new CofferError(
            "BAD_INPUT",
            "policy set needs --preset NAME, --keep-* or --tier rules",
          );
        const doc = mergePolicy(current?.document, rulesFromFlags(o.flags), {
          ...(o.group !== undefined ? { group: o.group } : {}),
          ...(o.groupBy !== undefined ? { groupBy: o.groupBy } : {}),
        });
        const stored = await store.set(s.bucket, doc, adminActor(), now);
        io.out(
          o.json
            ? JSON.stringify(stored.document)
            : `Retention policy of ${s.name}:\n${describe(stored.document)}`,
        );
        return;
      }
      case "show": {
        if (current === undefined) {
          io.out(o.json ? "null" : `No retention policy for ${s.name}: every snapshot is kept.`);
          return;
        }
        io.out(o.json ? JSON.stringify(current.document) : describe(current.document));
        return;
      }
      case "remove": {
        if (o.group === undefined) {
          await store.remove(s.bucket, adminActor(), now);
          io.out(
            `Retention policy of ${s.name} removed: every snapshot is kept (pending deletions stay pending).`,
          );
          return;
        }
        if (current === undefined)
          throw new CofferError("NOT_FOUND", `No retention policy for ${s.name}`);
        const doc: PolicyDocument = {
          ...current.document,
          groups: (current.document.groups ?? []).filter((g) => g.name !== o.group),
        };
        await store.set(s.bucket, doc, adminActor(), now);
        io.out(`Group ${o.group} removed from ${s.name}'s policy.`);
        return;
      }
      case "run": {
        const r = await runRetention(m, s, {
          now,
          minDelayMs: cfg.minDeletionDelayMs,
          dryRun: o.dryRun,
          floor: cfg.retentionFloor,
        });
        if (r === undefined)
          throw new CofferError("NOT_FOUND", `No retention policy for ${s.name}`);
        if (o.json) {
          io.out(JSON.stringify(r));
          return;
        }
        for (const g of r.decision.groups) {
          io.out(`group ${g.key} (${g.policy}): keep ${g.keep.length}, forget ${g.forget.length}`);
          for (const k of g.keep) io.out(`  keep   ${k.id.slice(0, 8)}  ${k.reasons.join("; ")}`);
          for (const f of g.forget) io.out(`  forget ${f.id.slice(0, 8)}`);
        }
        io.out(
          o.dryRun
            ? `Dry run: ${r.filed.length} snapshot(s) would be filed for deletion.`
            : `Filed ${r.filed.length} snapshot(s) for deletion (delayed; see coffer-server deletions list).`,
        );
        return;
      }
      default:
        throw new CofferError(
          "BAD_INPUT",
          `Unknown policy subcommand ${JSON.stringify(sub ?? "")}: use set, show, remove or run`,
        );
    }
  });
}

/** Pulls repeatable `--name value` / `--name=value` options out of `argv` (the server parser keeps one value). */
export function takeRepeated(
  argv: readonly string[],
  names: readonly string[],
): { rest: string[]; values: Record<string, string[]> } {
  const rest: string[] = [];
  const values: Record<string, string[]> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    const eq = a.indexOf("=");
    const n = a.startsWith("--") ? (eq < 0 ? a.slice(2) : a.slice(2, eq)) : "";
    if (!names.includes(n)) {
      rest.push(a);
      continue;
    }
    const v = eq < 0 ? argv[++i] : a.slice(eq + 1);
    if (v === undefined) throw new CofferError("BAD_INPUT", `Option --${n} needs a value`);
    (values[n] ??= []).push(v);
  }
  return { rest, values };
}
