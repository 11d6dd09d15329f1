#!/usr/bin/env node
// `npm run package`: Debian packages of both installables (ADR 0013), in out/deb/:
//   coffer_<v>_<arch>.deb         /usr/bin/coffer, /usr/lib/coffer, coffer-agent.service,
//                                 /etc/coffer/*.example, coffer(1)
//   coffer-server_<v>_<arch>.deb  /usr/bin/coffer-server, /usr/lib/coffer-server,
//                                 coffer-server.service, /etc/coffer-server/server.yaml,
//                                 coffer-server(1); postinst creates the coffer-server user
// The packages run on Debian's `nodejs` (/usr/bin/node). Their npm dependencies are copied
// from this repository's node_modules (the versions package-lock.json pins, native addons as
// `npm ci` built them), without install-time helpers, sources or typings: no network here.
// Packaging files: packaging/debian/. Needs dpkg-deb.
//   node scripts/build-debs.mjs
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { buildPackages } from "./build-packages.mjs";
import { cofferPage, serverPage } from "./man-pages.mjs";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const deb = join(root, "out", "deb");
const packaging = join(root, "packaging", "debian");

/** npm packages that only build or download native addons: not needed once built. */
const BUILD_ONLY = new Set(["prebuild-install", "node-addon-api", "node-gyp", "@types/node"]);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
  if (r.status !== 0)
    throw new Error(
      `build-debs: ${cmd} ${args.join(" ")} failed: ${(r.stderr || r.stdout).trim()}`,
    );
  return r.stdout.trim();
}

const readJson = (p) => JSON.parse(readFileSync(p, "utf8"));

/** Where Node would find package `name` when required from `fromDir`. */
function resolvePackage(name, fromDir) {
  for (let d = fromDir; ; d = dirname(d)) {
    const c = join(d, "node_modules", name);
    if (existsSync(join(c, "package.json"))) return c;
    if (d === root || d === dirname(d)) return undefined;
  }
}

/** The run-time dependency closure of `deps` (required from the repository root). */
function closure(deps) {
  const found = new Set();
  const visit = (names, fromDir, optional) => {
    for (const name of names) {
      if (BUILD_ONLY.has(name)) continue;
      const dir = resolvePackage(name, fromDir);
      if (dir === undefined) {
        if (optional.has(name)) continue;
        throw new Error(
          `build-debs: ${name} (needed from ${relative(root, fromDir) || "."}) is not installed; run npm ci first`,
        );
      }
      if (found.has(dir)) continue;
      found.add(dir);
      const pkg = readJson(join(dir, "package.json"));
      const opt = new Set(Object.keys(pkg.optionalDependencies ?? {}));
      visit([...Object.keys(pkg.dependencies ?? {}), ...opt], dir, opt);
    }
  };
  visit(deps, root, new Set());
  return [...found].sort();
}

/** Copies an installed package without nested node_modules, typings, maps or addon sources. */
function copyPackage(src, dest) {
  const native = existsSync(join(src, "binding.gyp"));
  cpSync(src, dest, {
    recursive: true,
    filter: (p) => {
      const r = relative(src, p);
      if (r === "") return true;
      if (r === "node_modules" || r.startsWith("node_modules/") || basename(p) === ".github")
        return false;
      if (/\.(d\.[cm]?ts|map)$/.test(p) || basename(p) === "dist-types") return false;
      if (!native) return true;
      if (/^(deps|src)(\/|$)/.test(r) || r === "binding.gyp") return false;
      if (r === "build" || r === "build/Release") return true;
      if (r.startsWith("build/")) return /^build\/Release\/[^/]+\.node$/.test(r);
      return true;
    },
  });
}

/** The size of a tree in KiB, as dpkg's Installed-Size counts it. */
function sizeKiB(dir) {
  let total = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== "DEBIAN") walk(p);
      } else if (e.isFile()) total += Math.ceil(statSync(p).size / 1024);
      else total += 1;
    }
  };
  walk(dir);
  return total;
}

function write(path, text, mode = 0o644) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
}

/** Every file of a tree under `sub` as `/sub/...` lines (for conffiles). */
function filesUnder(tree, sub) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`/${relative(tree, p)}`);
    }
  };
  if (existsSync(join(tree, sub))) walk(join(tree, sub));
  return out.sort();
}

/** The copyright and changelog files Debian policy asks every package for. */
function policyDocs(name, tree, version, commit, when) {
  const doc = join(tree, "usr/share/doc", name);
  write(
    join(doc, "copyright"),
    `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: coffer\nSource: https://github.com/coffer/coffer\n\nFiles: *\nCopyright: Coffer developers\nLicense: proprietary\n\nFiles: usr/lib/${name}/node_modules/*\nCopyright: their authors\nLicense: see the LICENSE file in each package's folder\n`,
  );
  write(
    join(doc, "changelog.Debian.gz"),
    gzipSync(
      `${name} (${version}) unstable; urgency=medium\n\n  * Built from git commit ${commit}.\n\n -- Coffer developers <coffer@example.org>  ${when}\n`,
      { level: 9 },
    ),
  );
}

/** DEBIAN/md5sums: every file but DEBIAN/ and the conffiles in etc/ (for `dpkg --verify`). */
function md5sums(tree) {
  const lines = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (p !== join(tree, "DEBIAN") && p !== join(tree, "etc")) walk(p);
      } else if (e.isFile()) {
        lines.push(
          `${createHash("md5").update(readFileSync(p)).digest("hex")}  ${relative(tree, p)}`,
        );
      }
    }
  };
  walk(tree);
  return `${lines.sort((a, b) => (a.slice(34) < b.slice(34) ? -1 : 1)).join("\n")}\n`;
}

/** Builds one .deb from `tree`; returns its path. */
function dpkgDeb(name, tree, version, arch, nodeDepends) {
  const pkgDir = join(packaging, name);
  write(join(tree, "DEBIAN", "md5sums"), md5sums(tree));
  const control = readFileSync(join(pkgDir, "control"), "utf8")
    .replaceAll("@VERSION@", version)
    .replaceAll("@ARCH@", arch)
    .replaceAll("@NODE_DEPENDS@", nodeDepends)
    .replaceAll("@SIZE@", String(sizeKiB(tree)));
  write(join(tree, "DEBIAN", "control"), control);
  for (const s of ["postinst", "prerm", "postrm"])
    write(join(tree, "DEBIAN", s), readFileSync(join(pkgDir, s), "utf8"), 0o755);
  const conffiles = filesUnder(tree, "etc");
  if (conffiles.length > 0) write(join(tree, "DEBIAN", "conffiles"), `${conffiles.join("\n")}\n`);
  const file = join(deb, `${name}_${version}_${arch}.deb`);
  run("dpkg-deb", ["--root-owner-group", "-Zxz", "--build", tree, file]);
  return file;
}

/** A /usr/bin wrapper that runs a package's entry script on Debian's node. */
function wrapper(script, before = "") {
  return `#!/bin/sh\n${before}exec /usr/bin/node ${script} "$@"\n`;
}

function manPage(tree, name, text) {
  write(join(tree, "usr/share/man/man1", `${name}.1.gz`), gzipSync(text, { level: 9 }));
}

/** The agent's unit, as `coffer agent install --print` makes it, run through /usr/bin/coffer. */
function agentUnit(cofferScript) {
  const unit = run(process.execPath, [
    cofferScript,
    "agent",
    "install",
    "--print",
    "--config",
    "/etc/coffer/agent.yaml",
  ]);
  const exec = /^ExecStart=.* agent run (.*)$/m;
  if (!exec.test(unit))
    throw new Error("build-debs: coffer agent install --print has no ExecStart= agent run line");
  return `${unit
    .replace(exec, "ExecStart=/usr/bin/coffer agent run $1")
    .replace(
      /^(Documentation=.*)$/m,
      "$1\nDocumentation=man:coffer(1)\n# Not configured yet: see /etc/coffer/agent.yaml.example\nConditionPathExists=/etc/coffer/agent.yaml",
    )}\n`;
}

export function buildDebs() {
  if (!existsSync(join(root, "build/Release/coffer_native.node")))
    throw new Error(
      "build-debs: build/Release/coffer_native.node is missing; run npm ci (it runs node-gyp) first",
    );
  const { clientDir, serverDir } = buildPackages({ pack: true });
  rmSync(deb, { recursive: true, force: true });
  const arch = run("dpkg", ["--print-architecture"]);
  const clientPkg = readJson(join(clientDir, "package.json"));
  const serverPkg = readJson(join(serverDir, "package.json"));
  const date = run("git", ["log", "-1", "--format=%cs"], { cwd: root });
  const commit = run("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root });
  const when = run("git", ["log", "-1", "--format=%aD"], { cwd: root });
  const nodeMajor = Number(process.versions.node.split(".")[0]);

  // coffer
  const ct = join(deb, "coffer");
  const clib = join(ct, "usr/lib/coffer");
  for (const p of ["package.json", "bin", "dist"])
    cpSync(join(clientDir, p), join(clib, p), { recursive: true });
  cpSync(
    join(root, "build/Release/coffer_native.node"),
    join(clib, "build/Release/coffer_native.node"),
  );
  for (const dir of closure(Object.keys(clientPkg.dependencies ?? {})))
    copyPackage(dir, join(clib, relative(root, dir)));
  write(join(ct, "usr/bin/coffer"), wrapper("/usr/lib/coffer/bin/coffer.mjs"), 0o755);
  const cofferScript = join(clib, "bin/coffer.mjs");
  write(join(ct, "usr/lib/systemd/system/coffer-agent.service"), agentUnit(cofferScript));
  for (const f of ["agent.yaml.example", "agent.env.example"])
    write(join(ct, "etc/coffer", f), readFileSync(join(packaging, "coffer", f), "utf8"));
  manPage(ct, "coffer", cofferPage(cofferScript, clientPkg.version, date));
  for (const f of ["README.md", "docs/cli.md"])
    write(join(ct, "usr/share/doc/coffer", basename(f)), readFileSync(join(root, f), "utf8"));

  // coffer-server
  const st = join(deb, "coffer-server");
  const slib = join(st, "usr/lib/coffer-server");
  for (const p of ["package.json", "bin", "dist"])
    cpSync(join(serverDir, p), join(slib, p), { recursive: true });
  const serverDeps = Object.keys(serverPkg.dependencies ?? {}).filter(
    (d) => d !== "@coffer/client",
  );
  for (const dir of closure(serverDeps)) copyPackage(dir, join(slib, relative(root, dir)));
  // @coffer/client is the coffer package's /usr/lib/coffer; for the help text (man page),
  // first the tree built just above.
  const link = join(slib, "node_modules/@coffer/client");
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(clib, link);
  manPage(
    st,
    "coffer-server",
    serverPage(join(slib, "bin/coffer-server.mjs"), serverPkg.version, date),
  );
  rmSync(link);
  symlinkSync("../../../coffer", link);
  write(
    join(st, "usr/bin/coffer-server"),
    wrapper(
      "/usr/lib/coffer-server/bin/coffer-server.mjs",
      `# The packaged configuration, unless COFFER_SERVER_CONFIG or --config says otherwise.\nif [ -z "\${COFFER_SERVER_CONFIG:-}" ] && [ -r /etc/coffer-server/server.yaml ]; then\n  COFFER_SERVER_CONFIG=/etc/coffer-server/server.yaml\n  export COFFER_SERVER_CONFIG\nfi\n`,
    ),
    0o755,
  );
  write(
    join(st, "usr/lib/systemd/system/coffer-server.service"),
    readFileSync(join(packaging, "coffer-server/coffer-server.service"), "utf8"),
  );
  write(
    join(st, "etc/coffer-server/server.yaml"),
    readFileSync(join(packaging, "coffer-server/server.yaml"), "utf8"),
  );
  write(
    join(st, "usr/share/doc/coffer-server/server.md"),
    readFileSync(join(root, "docs/server.md"), "utf8"),
  );

  policyDocs("coffer", ct, clientPkg.version, commit, when);
  policyDocs("coffer-server", st, serverPkg.version, commit, when);
  const files = [
    // The client's addons are Node-API: any Node from 20 on loads them.
    dpkgDeb("coffer", ct, clientPkg.version, arch, "nodejs (>= 20)"),
    // better-sqlite3 is built against one Node ABI: the major version it was built with.
    dpkgDeb(
      "coffer-server",
      st,
      serverPkg.version,
      arch,
      `nodejs (>= ${String(nodeMajor)}), nodejs (<< ${String(nodeMajor + 1)})`,
    ),
  ];
  for (const f of files)
    console.log(
      `build-debs: ${relative(root, f)} (${String(Math.round(statSync(f).size / 1024))} KiB)`,
    );
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    buildDebs();
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
