#!/usr/bin/env bash
# Measures what installing each installable costs on a clean host (ADR 0013): for the client
# alone and for the server (which pulls the client), RUNS times (default 3): `npm install` of
# the packed tarballs into an empty directory with an empty npm cache (every package is
# downloaded, every native addon built), then `du` of node_modules. Prints each run and the
# median. Each installed tree is used before it is removed: `coffer --help`, an init, backup
# and restore, and `coffer-server --help` for the server. MEASURE_IGNORE_SCRIPTS=1 installs
# with --ignore-scripts: download and unpack only, no addon built (and no smoke test).
# Needs the tarballs: npm run build:packages.
#   scripts/measure-install.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
client=$(ls out/npm/coffer-client-*.tgz)
server=$(ls out/npm/coffer-server-*.tgz)
extra=()
[ -n "${MEASURE_IGNORE_SCRIPTS:-}" ] && extra=(--ignore-scripts)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

smoke() { # dir name: the installed commands work
  local d=$1 bin=$1/node_modules/.bin
  "$bin/coffer" --help | grep -q "^Usage: coffer" || { echo "smoke: coffer --help failed" >&2; exit 1; }
  mkdir -p "$d/src" && echo "smoke test" >"$d/src/a.txt" && echo "measure-install password" >"$d/pw"
  (export COFFER_PASSWORD_FILE=$d/pw
    "$bin/coffer" init -r "$d/repo" -q >/dev/null &&
    "$bin/coffer" backup -r "$d/repo" -q "$d/src" >/dev/null &&
    "$bin/coffer" restore latest -r "$d/repo" -q --target "$d/out" >/dev/null) || { echo "smoke: backup/restore failed" >&2; exit 1; }
  cmp -s "$d/src/a.txt" "$d/out$d/src/a.txt" || { echo "smoke: restored file differs" >&2; exit 1; }
  if [ "$2" = server ]; then
    "$bin/coffer-server" --help | grep -q "^Usage: coffer-server" || { echo "smoke: coffer-server --help failed" >&2; exit 1; }
  fi
}

measure() { # name tarball...
  local name=$1; shift
  local secs=() kib=() pkgs=() natives=()
  for i in $(seq 1 "$runs"); do
    local d; d=$(mktemp -d /tmp/coffer-measure-XXXXXX)
    echo '{"name":"measure","private":true}' >"$d/package.json"
    local t0 t1
    t0=$(date +%s.%N)
    (cd "$d" && npm install --no-audit --no-fund --loglevel=error --cache "$d/.npm-cache" "${extra[@]}" "$@" >/dev/null)
    t1=$(date +%s.%N)
    secs+=("$(echo "$t1 - $t0" | bc)")
    kib+=("$(du -sk "$d/node_modules" | cut -f1)")
    pkgs+=("$(find "$d/node_modules" -name package.json -path '*/node_modules/*/package.json' -not -path '*/node_modules/*/node_modules/*/*/package.json' | wc -l)")
    natives+=("$(find "$d/node_modules" -name '*.node' -path '*/Release/*' | sed 's|.*/node_modules/||; s|/build/.*||' | sort -u | tr '\n' ' ')")
    [ -z "${MEASURE_IGNORE_SCRIPTS:-}" ] && smoke "$d" "$name"
    printf '%s run %d: %.1f s, node_modules %s KiB (%s MiB), native: %s\n' "$name" "$i" "${secs[-1]}" "${kib[-1]}" "$((${kib[-1]} / 1024))" "${natives[-1]}"
    rm -rf "$d"
  done
  local ms mk
  ms=$(printf '%s\n' "${secs[@]}" | median)
  mk=$(printf '%s\n' "${kib[@]}" | median)
  printf '%s median: %.1f s, node_modules %s MiB\n' "$name" "$ms" "$((mk / 1024))"
}

measure client "$PWD/$client"
measure server "$PWD/$client" "$PWD/$server"
