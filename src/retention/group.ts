import type {
  GroupBy,
  GroupMatch,
  KeepRules,
  RetentionPolicy,
  RetentionSnapshot,
} from "./policy.ts";

/** Snapshots that share a policy and a grouping key. */
export interface SnapshotGroup {
  /** Stable, human-readable key, e.g. `host=web1 paths=/etc,/srv`. */
  readonly key: string;
  /** Name of the per-group policy that applies, or `"default"`. */
  readonly policy: string;
  /** The rules of that policy. */
  readonly rules: KeepRules;
  readonly snapshots: RetentionSnapshot[];
}

/** `*` matches any run of characters; everything else is literal. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split("*")
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`);
}

/** True when `s` satisfies every field of `match`. */
export function matches(match: GroupMatch, s: RetentionSnapshot): boolean {
  if (match.host !== undefined && s.host !== match.host) return false;
  if (match.tags !== undefined && !match.tags.every((t) => s.tags.includes(t))) return false;
  if (match.tagPrefix !== undefined) {
    const prefix = match.tagPrefix;
    if (!s.tags.some((t) => t.startsWith(prefix))) return false;
  }
  return true;
}

function part(by: GroupBy, s: RetentionSnapshot): string {
  const sortedUnique = (xs: readonly string[]): string => [...new Set(xs)].sort().join(",");
  if (by === "host") return `host=${s.host}`;
  if (by === "tags") return `tags=${sortedUnique(s.tags)}`;
  if (by === "paths") return `paths=${sortedUnique(s.paths)}`;
  const re = globToRegExp(by.tagPattern);
  return `tag:${by.tagPattern}=${sortedUnique(s.tags.filter((t) => re.test(t)))}`;
}

/**
 * Splits snapshots into groups: first by the first matching per-group policy (else the
 * default rules), then by the policy's `groupBy` dimensions. Groups come out sorted by
 * policy order then key.
 */
export function groupSnapshots(
  snapshots: readonly RetentionSnapshot[],
  policy: RetentionPolicy,
): SnapshotGroup[] {
  const groups = new Map<string, SnapshotGroup & { order: number }>();
  for (const s of snapshots) {
    const index = policy.groups.findIndex((g) => matches(g.match, s));
    const chosen = index < 0 ? undefined : policy.groups[index];
    const name = chosen === undefined ? "default" : chosen.name;
    const rules = chosen === undefined ? policy.rules : chosen.rules;
    const key = policy.groupBy.map((by) => part(by, s)).join(" ");
    const id = `${index}\u0000${key}`;
    let g = groups.get(id);
    if (g === undefined) {
      g = {
        key,
        policy: name,
        rules,
        snapshots: [],
        order: index < 0 ? policy.groups.length : index,
      };
      groups.set(id, g);
    }
    g.snapshots.push(s);
  }
  return [...groups.values()]
    .sort((a, b) => a.order - b.order || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ key, policy: p, rules: r, snapshots: list }) => ({
      key,
      policy: p,
      rules: r,
      snapshots: list,
    }));
}
