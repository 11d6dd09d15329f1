import { CofferError } from "../core/errors.ts";

/**
 * Byte-level glob patterns with restic semantics, used by backup excludes and by restore's
 * `--include` / `--exclude`.
 *
 * - A pattern is split on `/` into components; each component is matched against one path
 *   component with `*` (any run of bytes except `/`), `?` (one byte), `[...]` classes
 *   (`[abc]`, `[a-z]`, `[!x]` or `[^x]` negated) and `\` escapes.
 * - A component that is exactly `**` matches zero or more whole path components.
 * - A pattern starting with `/` is anchored at the root; any other pattern may start at any
 *   component (as if prefixed with `**∕`), so `*.log` or `cache` match a component anywhere.
 * - {@link Glob.matches} is true when the pattern matches the path **or one of its
 *   ancestors** (excluding a directory excludes its subtree, as restic does).
 * - {@link Glob.mayMatchDescendant} tells whether a descendant of a directory could match,
 *   which restore's `--include` needs to decide whether to descend.
 *
 * Paths and patterns are bytes (`Uint8Array`) or strings (taken as UTF-8). Matching is by
 * byte, so `?` matches one byte of a multi-byte UTF-8 character.
 */
export class Glob {
  /** The pattern as given. */
  readonly source: string;
  private readonly anchored: boolean;
  /** Compiled components; `null` stands for `**`. */
  private readonly parts: (Uint8Array | null)[];

  constructor(pattern: string | Uint8Array) {
    const bytes = typeof pattern === "string" ? Buffer.from(pattern, "utf8") : Buffer.from(pattern);
    this.source = bytes.toString("utf8");
    if (bytes.length === 0)
      throw new CofferError("BAD_INPUT", "Invalid glob pattern: empty pattern");
    this.anchored = bytes[0] === SLASH;
    const parts = splitPath(bytes).map((p) =>
      p.length === 2 && p[0] === STAR && p[1] === STAR ? null : p,
    );
    if (parts.length === 0) {
      // "/" alone matches everything under the root.
      parts.push(null);
    }
    for (const p of parts) if (p !== null) validateComponent(p, this.source);
    this.parts = this.anchored ? parts : [null, ...parts];
  }

  /** True when the pattern matches `path` or one of its ancestor directories. */
  matches(path: string | Uint8Array): boolean {
    const comps = splitPath(toBytes(path));
    return matchParts(this.parts, 0, comps, 0, "prefix");
  }

  /** True when the pattern matches `path` itself exactly (not merely an ancestor). */
  matchesExactly(path: string | Uint8Array): boolean {
    const comps = splitPath(toBytes(path));
    return matchParts(this.parts, 0, comps, 0, "exact");
  }

  /**
   * True when some path strictly below directory `dir` could match: restore uses it with
   * `--include` to decide whether a directory must be descended into.
   */
  mayMatchDescendant(dir: string | Uint8Array): boolean {
    const comps = splitPath(toBytes(dir));
    return matchParts(this.parts, 0, comps, 0, "descendant");
  }
}

/** Compiles each pattern; throws `BAD_INPUT` naming the first malformed one. */
export function compileGlobs(patterns: readonly (string | Uint8Array)[]): Glob[] {
  return patterns.map((p) => new Glob(p));
}

/** True when any of `globs` {@link Glob.matches} `path`. */
export function matchesAny(globs: readonly Glob[], path: string | Uint8Array): boolean {
  const bytes = toBytes(path);
  return globs.some((g) => g.matches(bytes));
}

/**
 * Parses an exclude file: one pattern per line, blank lines and lines starting with `#`
 * ignored, surrounding whitespace trimmed (restic's `--exclude-file` format).
 */
export function parsePatternFile(content: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= content.length; i++) {
    if (i === content.length || content[i] === 0x0a) {
      let a = start;
      let b = i;
      while (a < b && isSpace(content[a]!)) a++;
      while (b > a && isSpace(content[b - 1]!)) b--;
      if (b > a && content[a] !== 0x23) out.push(content.subarray(a, b));
      start = i + 1;
    }
  }
  return out;
}

const SLASH = 0x2f;
const STAR = 0x2a;
const QUESTION = 0x3f;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const BACKSLASH = 0x5c;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0d;
}

function toBytes(p: string | Uint8Array): Uint8Array {
  return typeof p === "string" ? Buffer.from(p, "utf8") : p;
}

function splitPath(p: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p[i] === SLASH) {
      if (i > start) out.push(p.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

function validateComponent(p: Uint8Array, source: string): void {
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === BACKSLASH) {
      if (i + 1 >= p.length)
        throw new CofferError(
          "BAD_INPUT",
          `Invalid glob pattern ${JSON.stringify(source)}: trailing backslash`,
        );
      i++;
    } else if (c === LBRACKET) {
      const end = classEnd(p, i);
      if (end < 0)
        throw new CofferError(
          "BAD_INPUT",
          `Invalid glob pattern ${JSON.stringify(source)}: unterminated [`,
        );
      i = end;
    }
  }
}

/** Index of the `]` closing the class opened at `i`, or -1. */
function classEnd(p: Uint8Array, i: number): number {
  let j = i + 1;
  if (p[j] === 0x21 || p[j] === 0x5e) j++;
  if (p[j] === RBRACKET) j++; // a leading ] is literal
  for (; j < p.length; j++) {
    if (p[j] === BACKSLASH) j++;
    else if (p[j] === RBRACKET) return j;
  }
  return -1;
}

type Mode = "exact" | "prefix" | "descendant";

function matchParts(
  pat: (Uint8Array | null)[],
  pi: number,
  path: Uint8Array[],
  si: number,
  mode: Mode,
): boolean {
  for (;;) {
    if (pi === pat.length) return si === path.length || mode === "prefix";
    const p = pat[pi] as Uint8Array | null;
    if (p === null) {
      if (pi === pat.length - 1) {
        // trailing **: matches any rest (descendant mode needs at least one more component,
        // which can always exist)
        return true;
      }
      for (let k = si; k <= path.length; k++)
        if (matchParts(pat, pi + 1, path, k, mode)) return true;
      return false;
    }
    if (si === path.length) return mode === "descendant";
    if (!matchComponent(p, 0, path[si]!, 0)) return false;
    pi++;
    si++;
  }
}

function matchComponent(p: Uint8Array, pi: number, s: Uint8Array, si: number): boolean {
  while (pi < p.length) {
    const c = p[pi]!;
    if (c === STAR) {
      while (pi < p.length && p[pi] === STAR) pi++;
      if (pi === p.length) return true;
      for (let k = si; k <= s.length; k++) if (matchComponent(p, pi, s, k)) return true;
      return false;
    }
    if (si >= s.length) return false;
    const b = s[si]!;
    if (c === QUESTION) {
      pi++;
    } else if (c === LBRACKET) {
      const end = classEnd(p, pi);
      if (!matchClass(p, pi + 1, end, b)) return false;
      pi = end + 1;
    } else if (c === BACKSLASH) {
      if (p[pi + 1] !== b) return false;
      pi += 2;
    } else {
      if (c !== b) return false;
      pi++;
    }
    si++;
  }
  return si === s.length;
}

function matchClass(p: Uint8Array, start: number, end: number, b: number): boolean {
  let i = start;
  let negate = false;
  if (p[i] === 0x21 || p[i] === 0x5e) {
    negate = true;
    i++;
  }
  let hit = false;
  let first = true;
  while (i < end) {
    let lo = p[i]!;
    if (lo === BACKSLASH) lo = p[++i]!;
    else if (lo === RBRACKET && !first) break;
    i++;
    let hi = lo;
    if (p[i] === 0x2d && i + 1 < end) {
      i++;
      hi = p[i]!;
      if (hi === BACKSLASH) hi = p[++i]!;
      i++;
    }
    if (b >= lo && b <= hi) hit = true;
    first = false;
  }
  return hit !== negate;
}
