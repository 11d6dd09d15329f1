#!/usr/bin/env node
// Builds the two installables from one compile of src/ (ADR 0013), without touching dist/:
//   out/stage/client   @coffer/client: `coffer` and its agent (no server module, no SQLite
//                      binding, no mailer)
//   out/stage/server   @coffer/server: `coffer-server`; what it shares with the client (format,
//                      storage, core, ...) it imports from @coffer/client
//   out/npm/*.tgz      `npm pack` of both (skipped with --no-pack)
// Every import of each package is checked: relative ones resolve inside the package, bare ones
// are Node built-ins or declared dependencies. Nothing here uses the network.
//   node scripts/build-packages.mjs [--no-pack]
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  importsOf,
  isBuiltin,
  isServerOnly,
  isTestOnly,
  packageOf,
  rel,
  walk,
} from "./package-layout.mjs";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const out = join(root, "out");
const compiled = join(out, "stage", "compiled");
const CLIENT = "@coffer/client";

function run(cmd, args, cwd = root) {
  const r = spawnSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (r.status !== 0) {
    process.stdout.write(r.stdout ?? "");
    throw new Error(`build-packages: ${cmd} ${args.join(" ")} failed (exit ${String(r.status)})`);
  }
  return r.stdout;
}

const readJson = (p) => JSON.parse(readFileSync(p, "utf8"));

/** Each package declares its dependencies with the root's ranges, so the root lock applies. */
function checkRanges(pkg, rootPkg) {
  const all = { ...rootPkg.devDependencies, ...rootPkg.dependencies };
  for (const [name, range] of Object.entries(pkg.dependencies ?? {})) {
    if (name === CLIENT) continue;
    if (all[name] !== range)
      throw new Error(
        `build-packages: ${pkg.name} wants ${name}@${range} but the root package.json has ${String(all[name])}; make them equal`,
      );
  }
}

/** Relative `new URL("./x.js", import.meta.url)` targets: worker entry points. */
function workerRefs(text) {
  return [
    ...text.matchAll(/new URL\(\s*[^;]*?["'](\.\.?\/[^"']+\.js)["']\s*,\s*import\.meta\.url/g),
  ].map((m) => m[1]);
}

/**
 * Follows every import from `entries` inside a staged package (`dir`) and returns the problems:
 * a missing module, an undeclared package, a client-package module that does not exist.
 */
function verifyClosure(dir, entries, pkg, clientDir) {
  const problems = [];
  const deps = new Set(Object.keys(pkg.dependencies ?? {}));
  const seen = new Set();
  const queue = entries.map((e) => join(dir, e));
  while (queue.length > 0) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    if (!existsSync(file)) {
      problems.push(`${pkg.name}: ${relative(out, file)} is imported but not in the package`);
      continue;
    }
    const text = readFileSync(file, "utf8");
    const specs = [...importsOf(text).map((i) => i.spec), ...workerRefs(text)];
    for (const spec of specs) {
      const where = relative(dir, file);
      if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(dir + "/"))
          problems.push(`${pkg.name}: ${where} imports ${spec}, outside the package`);
        else queue.push(target);
      } else if (spec.startsWith(`${CLIENT}/`)) {
        if (!deps.has(CLIENT))
          problems.push(`${pkg.name}: ${where} imports ${spec} but does not depend on ${CLIENT}`);
        const target = join(clientDir, spec.slice(CLIENT.length + 1));
        if (!existsSync(target))
          problems.push(`${pkg.name}: ${where} imports ${spec}, which ${CLIENT} lacks`);
      } else if (!isBuiltin(spec) && !deps.has(packageOf(spec))) {
        problems.push(`${pkg.name}: ${where} imports ${spec}, not a declared dependency`);
      }
    }
  }
  return { problems, files: seen.size };
}

/** Rewrites a server module's imports of client modules to `@coffer/client/dist/...`. */
function rewriteServerImports(text, fileRel) {
  let outText = text;
  for (const { spec } of importsOf(text)) {
    if (!spec.startsWith(".")) continue;
    const target = rel(compiled, resolve(dirname(join(compiled, fileRel)), spec));
    if (isServerOnly(`src/${target}`)) continue;
    const to = `${CLIENT}/dist/${target}`;
    outText = outText.split(`"${spec}"`).join(`"${to}"`);
  }
  return outText;
}

export function buildPackages({ pack = true } = {}) {
  const rootPkg = readJson(join(root, "package.json"));
  const clientPkg = readJson(join(root, "packages/client/package.json"));
  const serverPkg = readJson(join(root, "packages/server/package.json"));
  checkRanges(clientPkg, rootPkg);
  checkRanges(serverPkg, rootPkg);
  if (serverPkg.dependencies?.[CLIENT] !== clientPkg.version)
    throw new Error(
      `build-packages: ${serverPkg.name} must depend on ${CLIENT}@${clientPkg.version}`,
    );

  rmSync(join(out, "stage"), { recursive: true, force: true });
  const tsc = join(root, "node_modules/typescript/bin/tsc");
  run(process.execPath, [
    tsc,
    "-p",
    "tsconfig.build.json",
    "--outDir",
    compiled,
    "--sourceMap",
    "false",
  ]);

  const clientDir = join(out, "stage", "client");
  const serverDir = join(out, "stage", "server");
  let nClient = 0;
  let nServer = 0;
  for (const file of walk(compiled, [".js"])) {
    const r = rel(compiled, file);
    if (isServerOnly(`src/${r}`)) {
      const dest = join(serverDir, "dist", r);
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, rewriteServerImports(readFileSync(file, "utf8"), r));
      nServer++;
    } else {
      cpSync(file, join(clientDir, "dist", r));
      nClient++;
    }
  }
  // Assets (not TypeScript, not documentation) go beside the modules of their folder.
  for (const file of walk(join(root, "src"), [""])) {
    const r = rel(join(root, "src"), file);
    if (/\.(ts|md)$/.test(r) || isTestOnly(`src/${r}`)) continue;
    cpSync(file, join(isServerOnly(`src/${r}`) ? serverDir : clientDir, "dist", r));
  }
  for (const [pkg, dir, src] of [
    [clientPkg, clientDir, "packages/client"],
    [serverPkg, serverDir, "packages/server"],
  ]) {
    cpSync(join(root, src, "bin"), join(dir, "bin"), { recursive: true });
    writeFileSync(join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  }
  cpSync(join(root, "binding.gyp"), join(clientDir, "binding.gyp"));
  cpSync(join(root, "native"), join(clientDir, "native"), { recursive: true });
  rmSync(compiled, { recursive: true, force: true });

  const c = verifyClosure(clientDir, ["bin/coffer.mjs", "dist/cli/entry.js"], clientPkg, clientDir);
  const s = verifyClosure(
    serverDir,
    ["bin/coffer-server.mjs", "dist/cli/server/main.js"],
    serverPkg,
    clientDir,
  );
  const problems = [...c.problems, ...s.problems];
  if (problems.length > 0) throw new Error(`build-packages:\n  ${problems.join("\n  ")}`);
  console.log(
    `build-packages: ${clientPkg.name} ${String(nClient)} modules (${String(c.files)} reachable), ${serverPkg.name} ${String(nServer)} modules (${String(s.files)} reachable)`,
  );

  const tarballs = [];
  if (pack) {
    mkdirSync(join(out, "npm"), { recursive: true });
    for (const dir of [clientDir, serverDir]) {
      const [info] = JSON.parse(
        run("npm", ["pack", "--json", "--pack-destination", join(out, "npm")], dir),
      );
      tarballs.push(join(out, "npm", info.filename));
      console.log(
        `build-packages: ${relative(root, tarballs.at(-1))} (${String(info.entryCount)} files, ${String(info.size)} bytes)`,
      );
    }
  }
  return { clientDir, serverDir, tarballs };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    buildPackages({ pack: !process.argv.includes("--no-pack") });
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
