// Which source files belong to which installable (ADR 0013), and the import scan that the
// boundary check (scripts/check-boundaries.mjs) and the package build
// (scripts/build-packages.mjs) share.
//
// - The client (@coffer/client: `coffer` and its agent) is every module under src/ except the
//   server-only folders below.
// - The server (@coffer/server: `coffer-server`) is the server-only folders; everything else it
//   imports comes from the client package, on which it depends.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";

/**
 * Folders (relative to the repository root, with a trailing slash) only the server ships.
 * `src/web/` is reserved for the operator's dashboard (issue 19): its assets must never reach
 * protected hosts. A client-side web feature needs a folder of its own.
 */
export const SERVER_ONLY = ["src/server/", "src/cli/server/", "src/web/"];

/**
 * Modules inside a server-only folder that client code may import, with the reason. They ship
 * in the client package (the server imports them from there). Each must itself import nothing
 * server-only. Keep this short: a shared module belongs in a neutral folder.
 */
export const SHARED = new Map();

/** Repository-relative path with `/` separators. */
export function rel(root, file) {
  return relative(root, file).split(sep).join("/");
}

/** True when `path` (repository-relative, .ts or compiled .js) ships only with the server. */
export function isServerOnly(path) {
  const ts = path.replace(/^dist\//, "src/").replace(/\.js$/, ".ts");
  if (SHARED.has(ts)) return false;
  return SERVER_ONLY.some((d) => ts.startsWith(d));
}

/** True for files that only tests use (never compiled into a package; see tsconfig.build). */
export function isTestOnly(path) {
  return (
    /\.(test|contract)\.ts$/.test(path) ||
    path.split("/").includes("testing") ||
    /(^|\/)testing\.ts$/.test(path)
  );
}

// Comments are blanked first so that an import in a TSDoc example does not count.
function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

const IMPORT =
  /(?:^|[\n;])\s*(?:import|export)\s+(type\s+)?(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/**
 * The module specifiers `text` imports: static imports, `export … from`, and dynamic
 * `import("…")` with a literal. `typeOnly` marks `import type` (erased at run time).
 */
export function importsOf(text) {
  const out = [];
  for (const m of stripComments(text).matchAll(IMPORT)) {
    const spec = m[2] ?? m[3];
    if (spec !== undefined) out.push({ spec, typeOnly: m[1] !== undefined });
  }
  return out;
}

/** Every file under `dir` whose name ends with one of `exts`, sorted. */
export function walk(dir, exts, out = []) {
  for (const e of readdirSync(dir).sort()) {
    if (e === "node_modules" || e.startsWith(".")) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, exts, out);
    else if (exts.some((x) => p.endsWith(x)) && !p.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

const BUILTIN = new Set(builtinModules);

/** True for `node:fs`, `fs`, `fs/promises`... */
export function isBuiltin(spec) {
  return spec.startsWith("node:") || BUILTIN.has(spec.split("/")[0]);
}

/** The npm package a bare specifier names: `@aws-sdk/client-s3`, `zstd-napi`. */
export function packageOf(spec) {
  return spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
}

/** The dependencies `packages/<name>/package.json` declares. */
function declared(root, name) {
  const pkg = JSON.parse(readFileSync(join(root, "packages", name, "package.json"), "utf8"));
  return new Set(Object.keys(pkg.dependencies ?? {}));
}

/**
 * Imports that break the split, as one line each: client modules that import server-only
 * modules, and modules that import an npm package their installable does not declare
 * (packages/client or packages/server `package.json`). `root` is the repository
 * root; every non-test `.ts` file under `root/src` is checked (type-only imports too: a type
 * from the server still ties the client to the server's source).
 */
export function boundaryViolations(root) {
  const problems = [];
  const deps = { client: declared(root, "client"), server: declared(root, "server") };
  for (const file of walk(join(root, "src"), [".ts"])) {
    const from = rel(root, file);
    if (isTestOnly(from)) continue;
    const side = isServerOnly(from) ? "server" : "client";
    for (const { spec, typeOnly } of importsOf(readFileSync(file, "utf8"))) {
      if (!spec.startsWith(".")) {
        if (!typeOnly && !isBuiltin(spec) && !deps[side].has(packageOf(spec)))
          problems.push(
            `${from} imports ${spec}, which packages/${side}/package.json does not declare (the ${side} installable would not find it; see ADR 0013)`,
          );
        continue;
      }
      if (side === "server") continue;
      const target = rel(root, resolve(dirname(file), spec));
      if (isServerOnly(target)) {
        const who = SHARED.has(from) ? "a module shared with the client" : "client code";
        problems.push(
          `${from} imports ${target}: ${who} must not import the server (only ${SERVER_ONLY.join(", ")} may; see ADR 0013)`,
        );
      }
    }
  }
  return problems;
}
