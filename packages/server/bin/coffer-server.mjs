#!/usr/bin/env node
// `coffer-server` as installed from the @coffer/server package: the compiled gateway in ../dist,
// staged by scripts/build-packages.mjs; the modules it shares with the client come from the
// @coffer/client package. (In the repository, run the root's bin/coffer-server.mjs instead.)
await import("../dist/cli/server/main.js");
