import { CofferError } from "../../core/errors.ts";
import { parsePolicy, type RetentionPolicy } from "../../retention/index.ts";
import { auditAdminTx } from "../audit/admin.ts";
import type { DbInt, Dialect, Queryable } from "../db/dialect.ts";

/**
 * A source's retention policy as the admin wrote it: the input form of
 * {@link parsePolicy} (`{ preset?, keep…?, tiers?, groupBy?, groups?: [{ name, match, … }] }`),
 * stored as JSON and parsed again (strictly) on every run.
 */
export type PolicyDocument = Record<string, unknown> & { groups?: Record<string, unknown>[] };

/** A stored policy. */
export interface StoredPolicy {
  bucket: string;
  document: PolicyDocument;
  policy: RetentionPolicy;
  updatedAt: number;
  updatedBy: string;
}

/** The per-source retention policies (metadata table `retention_policies`). */
export class PolicyStore {
  constructor(private readonly db: Queryable) {}

  async get(bucket: string): Promise<StoredPolicy | undefined> {
    const r = await this.db.get<{
      bucket: string;
      policy: string;
      updated_at: DbInt;
      updated_by: string;
    }>("SELECT * FROM retention_policies WHERE bucket = ?", [bucket]);
    if (r === undefined) return undefined;
    const document = JSON.parse(r.policy) as PolicyDocument;
    return {
      bucket: r.bucket,
      document,
      policy: parsePolicy(document),
      updatedAt: Number(r.updated_at),
      updatedBy: r.updated_by,
    };
  }

  /** Runs `fn` in a transaction (or in the caller's, when this store was given one). */
  #tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return "transaction" in this.db ? (this.db as Dialect).transaction(fn) : fn(this.db);
  }

  async #sourceName(q: Queryable, bucket: string): Promise<string> {
    return (
      (await q.get<{ name: string }>("SELECT name FROM sources WHERE bucket = ?", [bucket]))
        ?.name ?? bucket
    );
  }

  /**
   * Validates and stores `document` (BAD_INPUT with a one-line reason when invalid), with a
   * `policy.set` audit entry by `by` in the same transaction.
   */
  async set(
    bucket: string,
    document: PolicyDocument,
    by: string,
    now: number,
  ): Promise<StoredPolicy> {
    const policy = parsePolicy(document);
    await this.#tx(async (q) => {
      await q.run(
        `INSERT INTO retention_policies (bucket, policy, updated_at, updated_by) VALUES (?, ?, ?, ?)
       ON CONFLICT (bucket) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
        [bucket, JSON.stringify(document), now, by],
      );
      await auditAdminTx(q, {
        time: now,
        by,
        action: "policy.set",
        source: await this.#sourceName(q, bucket),
        detail: { policy: document },
      });
    });
    return { bucket, document, policy, updatedAt: now, updatedBy: by };
  }

  /** Removes a source's policy, with a `policy.remove` audit entry by `by`. */
  async remove(bucket: string, by: string, now: number): Promise<boolean> {
    return this.#tx(async (q) => {
      const gone =
        (await q.run("DELETE FROM retention_policies WHERE bucket = ?", [bucket])).changes > 0;
      if (gone)
        await auditAdminTx(q, {
          time: now,
          by,
          action: "policy.remove",
          source: await this.#sourceName(q, bucket),
        });
      return gone;
    });
  }

  async buckets(): Promise<string[]> {
    return (
      await this.db.all<{ bucket: string }>("SELECT bucket FROM retention_policies ORDER BY bucket")
    ).map((r) => r.bucket);
  }
}

/**
 * Turns a group selector into a policy `match`: `tag:db:*` (a tag prefix), `tag:NAME` (a
 * tag), `host:NAME`.
 */
export function groupMatch(selector: string): Record<string, unknown> {
  if (selector.startsWith("host:") && selector.length > 5) return { host: selector.slice(5) };
  if (selector.startsWith("tag:") && selector.length > 4) {
    const t = selector.slice(4);
    if (t.endsWith("*")) {
      if (t.slice(0, -1).includes("*"))
        throw new CofferError(
          "BAD_INPUT",
          `Invalid group ${selector}: only a trailing * is supported`,
        );
      return { tagPrefix: t.slice(0, -1) };
    }
    return { tags: [t] };
  }
  throw new CofferError(
    "BAD_INPUT",
    `Invalid group ${JSON.stringify(selector)}: use tag:PATTERN (e.g. 'tag:db:*'), tag:NAME or host:NAME`,
  );
}

/**
 * Merges keep rules into a policy document: for the default rules, or (with `group`) for
 * the group of that selector, replacing any rules it had.
 */
export function mergePolicy(
  base: PolicyDocument | undefined,
  rules: Record<string, unknown>,
  o: { group?: string; groupBy?: string },
): PolicyDocument {
  const doc: PolicyDocument = { ...(base ?? {}) };
  if (o.groupBy !== undefined) doc.groupBy = o.groupBy;
  if (o.group === undefined) {
    for (const k of Object.keys(doc))
      if (k !== "groups" && k !== "groupBy") Reflect.deleteProperty(doc, k);
    Object.assign(doc, rules);
    return doc;
  }
  const groups = (doc.groups ?? []).filter((g) => g.name !== o.group);
  groups.push({ name: o.group, match: groupMatch(o.group), ...rules });
  doc.groups = groups;
  return doc;
}
