import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from "yaml";

/** One mistake in a configuration file, with where it is. */
export interface ConfigIssue {
  file: string;
  line: number;
  /** The field's path, e.g. `jobs.www.schedule`. */
  field: string;
  message: string;
}

/** `agent.yaml:7: jobs.www.schedule: ...`: an issue on one line. */
export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${String(i.line)}: ${i.field === "" ? "" : `${i.field}: `}${i.message}`;
}

type PathPart = string | number;

/**
 * A YAML document read with positions, so each mistake can name its file, line and field.
 * Values are read by path; every problem is collected (not thrown) so that `validate` reports
 * all of them at once.
 */
export class ConfigReader {
  readonly issues: ConfigIssue[] = [];
  private readonly doc: Document;
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true });
    for (const e of [...this.doc.errors, ...this.doc.warnings]) {
      this.issues.push({
        file,
        line: e.linePos?.[0].line ?? 1,
        field: "",
        message: e.message.split("\n")[0] ?? "invalid YAML",
      });
    }
  }

  /** True when the document parsed (an empty file is a document with no contents). */
  get parsed(): boolean {
    return this.doc.errors.length === 0;
  }

  /** The plain value at `path`, or undefined. */
  get(path: readonly PathPart[]): unknown {
    const v: unknown = path.length === 0 ? this.doc.toJS() : this.doc.getIn(path);
    if (v !== null && typeof v === "object" && "toJSON" in v)
      return (v as { toJSON(): unknown }).toJSON();
    return v;
  }

  /** The line of the node at `path`, or of its nearest existing parent. */
  lineOf(path: readonly PathPart[]): number {
    for (let n = path.length; n >= 0; n--) {
      const node: unknown = n === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, n), true);
      const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
      if (range !== undefined) return this.lines.linePos(range[0]).line;
    }
    return 1;
  }

  /** The line of a mapping key (for unknown or forbidden keys). */
  private keyLine(path: readonly PathPart[], key: string): number {
    const node: unknown = path.length === 0 ? this.doc.contents : this.doc.getIn(path, true);
    if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key) && String(pair.key.value) === key && pair.key.range)
          return this.lines.linePos(pair.key.range[0]).line;
      }
    }
    return this.lineOf(path);
  }

  /** Records a mistake at `path`. */
  issue(path: readonly PathPart[], message: string, atKey?: string): void {
    const line = atKey !== undefined ? this.keyLine(path, atKey) : this.lineOf(path);
    const field = [...path, ...(atKey !== undefined ? [atKey] : [])].join(".");
    this.issues.push({ file: this.file, line, field, message });
  }

  /** The keys of the mapping at `path` (an issue if it is something else). */
  keys(path: readonly PathPart[], allowed: readonly string[]): string[] {
    const node: unknown = path.length === 0 ? this.doc.contents : this.doc.getIn(path, true);
    if (node === null || node === undefined) return [];
    if (!isMap(node)) {
      this.issue(path, "expected a mapping (key: value lines)");
      return [];
    }
    const keys: string[] = [];
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      keys.push(k);
      if (allowed.length > 0 && !allowed.includes(k))
        this.issue(path, `unknown field (expected one of: ${allowed.join(", ")})`, k);
    }
    return keys;
  }

  /** A string at `path` (undefined when absent; an issue when not a non-empty string). */
  str(path: readonly PathPart[], required = false): string | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) {
      if (required) this.issue(path, "is required");
      return undefined;
    }
    if (typeof v === "number") return String(v);
    if (typeof v !== "string" || v.trim() === "") {
      this.issue(path, "expected a non-empty string");
      return undefined;
    }
    return v;
  }

  /** A list of strings at `path`; a single string counts as a list of one. */
  strList(path: readonly PathPart[]): string[] | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v === "string") return [v];
    const node: unknown = this.doc.getIn(path, true);
    if (!isSeq(node) || !Array.isArray(v)) {
      this.issue(path, "expected a list of strings");
      return undefined;
    }
    const out: string[] = [];
    v.forEach((x: unknown, i) => {
      if (typeof x === "string" || typeof x === "number") out.push(String(x));
      else this.issue([...path, i], "expected a string");
    });
    return out;
  }

  /** A boolean at `path`. */
  bool(path: readonly PathPart[]): boolean | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") {
      this.issue(path, "expected true or false");
      return undefined;
    }
    return v;
  }

  /** A duration (`30s`, `20m`, `1h30m`, `2d`) at `path`, in milliseconds. */
  duration(path: readonly PathPart[], min = 1): number | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return undefined;
    const ms = typeof v === "string" ? parseAgentDuration(v) : undefined;
    if (ms === undefined || ms < min) {
      this.issue(
        path,
        `expected a duration like 30s, 20m, 1h30m or 2d${ms !== undefined ? ` of at least ${String(min / 1000)}s` : ""}, got ${JSON.stringify(v)}`,
      );
      return undefined;
    }
    return ms;
  }
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `1h30m` → 5,400,000; undefined unless the whole text is number+unit pairs. */
export function parseAgentDuration(text: string): number | undefined {
  const t = text.trim();
  if (!/^(\d+(?:ms|s|m|h|d))+$/.test(t)) return undefined;
  let total = 0;
  for (const m of t.matchAll(/(\d+)(ms|s|m|h|d)/g))
    total += Number(m[1]) * (UNIT_MS[m[2] ?? "s"] ?? 0);
  return total;
}
