#!/usr/bin/env bash
# Measures what installing each installable costs on a clean host (ADR 0013): for the client
# alone and for the server (which pulls the client), RUNS times (default 3): `npm install` of
# the packed tarballs into an empty directory with an empty npm cache (every package is
# downloaded, every native addon built), then `du` of node_modules. Prints each run and the
# median. Needs the tarballs: npm run build:packages.
#   scripts/measure-install.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
client=$(ls out/npm/coffer-client-*.tgz)
server=$(ls out/npm/coffer-server-*.tgz)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() { # name tarball...
  local name=$1; shift
  local secs=() kib=() pkgs=() natives=()
  for i in $(seq 1 "$runs"); do
    local d; d=$(mktemp -d /tmp/coffer-measure-XXXXXX)
    echo '{"name":"measure","private":true}' >"$d/package.json"
    local t0 t1
    t0=$(date +%s.%N)
    (cd "$d" && npm install --no-audit --no-fund --loglevel=error --cache "$d/.npm-cache" "$@" >/dev/null)
    t1=$(date +%s.%N)
    secs+=("$(echo "$t1 - $t0" | bc)")
    kib+=("$(du -sk "$d/node_modules" | cut -f1)")
    pkgs+=("$(find "$d/node_modules" -name package.json -path '*/node_modules/*/package.json' -not -path '*/node_modules/*/node_modules/*/*/package.json' | wc -l)")
    natives+=("$(find "$d/node_modules" -name '*.node' -path '*/Release/*' | sed 's|.*/node_modules/||; s|/build/.*||' | sort -u | tr '\n' ' ')")
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
