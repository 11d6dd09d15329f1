import type { ConfigReader } from "./config-reader.ts";
import type { HookSpec, Hooks } from "./config-types.ts";

const DEFAULT_HOOK_TIMEOUT = 5 * 60_000;

/**
 * Reads `hooks:` at `at`: `before`, `after` and `on_error` lists of shell commands (or
 * `{ run, timeout }`), with a default `timeout` (5 minutes).
 */
export function parseHooks(r: ConfigReader, at: (string | number)[]): Hooks {
  const hooks: Hooks = { before: [], after: [], onError: [] };
  r.keys(at, ["before", "after", "on_error", "timeout"]);
  const timeoutMs = r.duration([...at, "timeout"], 1000) ?? DEFAULT_HOOK_TIMEOUT;
  const list = (key: string): HookSpec[] => {
    const v = r.get([...at, key]);
    if (v === undefined || v === null) return [];
    const items: unknown[] = Array.isArray(v) ? v : [v];
    const out: HookSpec[] = [];
    items.forEach((item, i) => {
      const p = Array.isArray(v) ? [...at, key, i] : [...at, key];
      if (typeof item === "string" && item.trim() !== "") out.push({ run: item, timeoutMs });
      else if (item !== null && typeof item === "object" && !Array.isArray(item)) {
        r.keys(p, ["run", "timeout"]);
        const run = r.str([...p, "run"], true);
        const t = r.duration([...p, "timeout"], 1000);
        if (run !== undefined) out.push({ run, timeoutMs: t ?? timeoutMs });
      } else r.issue(p, 'expected a shell command, or { run: "...", timeout: 30s }');
    });
    return out;
  };
  hooks.before = list("before");
  hooks.after = list("after");
  hooks.onError = list("on_error");
  return hooks;
}
