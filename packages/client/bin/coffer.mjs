#!/usr/bin/env node
// `coffer` as installed from the @coffer/client package: the compiled client in ../dist, staged
// by scripts/build-packages.mjs. (In the repository, run the root's bin/coffer.mjs instead.)
await import("../dist/cli/entry.js");
