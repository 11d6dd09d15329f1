#!/usr/bin/env node
// Checks the import graph under src/ and prints every violation; run by `npm run lint`.
//   node scripts/check-imports.mjs [--runtime-only] [ROOT]
// 1. No import circles. Every relative import counts: static, `export … from`, dynamic
//    `import("…")`, and `import type` too (a type-only circle still says two modules know
//    each other); with --runtime-only, type-only imports are ignored.
// 2. Sub-domain boundaries: a folder of src/engine/ with an index.ts is entered only through
//    it. Tests (*.test.ts) and test helpers (testing/) may reach past it.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

const args = process.argv.slice(2);
const runtimeOnly = args.includes("--runtime-only");
const root = resolve(args.find((a) => !a.startsWith("--")) ?? "src");
const engineDir = join(root, "engine");

function walk(dir, out = []) {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

// Comments are blanked first so that an import in a TSDoc example does not count.
function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

const IMPORT =
  /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^"';]*?\sfrom\s+)?["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

/** The sub-domain folder of src/engine/ holding `file` when it has an index.ts, else undefined. */
function subDomain(file) {
  const rel = relative(engineDir, file);
  if (rel.startsWith("..") || !rel.includes(sep)) return undefined;
  const dir = join(engineDir, rel.split(sep)[0]);
  return existsSync(join(dir, "index.ts")) ? dir : undefined;
}
const isTestCode = (f) => f.endsWith(".test.ts") || f.split(sep).includes("testing");
const reachPast = [];

/** file → files it imports (relative imports only). */
function graph(files) {
  const g = new Map();
  for (const f of files) {
    const deps = new Set();
    for (const m of stripComments(readFileSync(f, "utf8")).matchAll(IMPORT)) {
      const typeOnly = m[2] !== undefined;
      if (runtimeOnly && typeOnly) continue;
      const spec = m[3] ?? m[4];
      const target = resolve(dirname(f), spec);
      if (g.has(target) || files.includes(target)) deps.add(target);
      const into = subDomain(target);
      if (
        into !== undefined &&
        subDomain(f) !== into &&
        target !== join(into, "index.ts") &&
        !isTestCode(f)
      ) {
        reachPast.push(
          `${relative(".", f)} imports ${relative(".", target)}: use ${relative(".", join(into, "index.ts"))}`,
        );
      }
    }
    g.set(f, deps);
  }
  return g;
}

/** Strongly connected components with more than one module (Tarjan), and self-imports. */
function circles(g) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (g.get(v) ?? new Set()).has(v)) out.push(comp.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out;
}

const files = walk(root);
const found = circles(graph(files));
for (const c of found)
  console.error(`import circle: ${c.map((f) => relative(".", f)).join(" ↔ ")}`);
for (const r of reachPast) console.error(`reaches past a sub-domain: ${r}`);
const where = relative(".", root) || ".";
if (found.length > 0 || reachPast.length > 0) {
  console.error(
    `${String(found.length)} import circle(s), ${String(reachPast.length)} import(s) past a sub-domain's index.ts under ${where}`,
  );
  process.exit(1);
}
console.log(
  `imports: no circles and no sub-domain reached past, among ${String(files.length)} modules under ${where}`,
);
