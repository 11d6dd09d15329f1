#!/usr/bin/env bash
# Proves the Debian packages on this machine (run by .ci/run after the tests): builds them
# (npm run package; PACKAGE_TEST_NO_BUILD=1 uses out/deb as is), installs both with dpkg -i,
# then, from the installed paths only (clean environment, outside the repository):
#   - coffer init / backup / restore of a tree (and a SQLite database through sqlite3),
#   - coffer-server start as the coffer-server user, `source add`, a request, a backup and a
#     restore through the gateway with the installed client, then a clean stop (SIGTERM),
#   - the agent's example configuration validates, the man pages and units are in place;
# then dpkg --purge both and checks that nothing is left: no file (compared with a listing
# taken before the install), no coffer-server user or group.
# Skipped (exit 0, with the reason) when not root or without dpkg; refuses to run when coffer
# is already installed here.
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root=$PWD

say() { echo "package-test: $*"; }
fail() { echo "package-test: FAILED: $*" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then say "skipped: needs root (dpkg -i)"; exit 0; fi
if ! command -v dpkg >/dev/null || ! command -v dpkg-deb >/dev/null; then
  say "skipped: dpkg is not installed"; exit 0
fi
for p in coffer coffer-server; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed"; then
    fail "$p is already installed on this machine; not touching it"
  fi
done

if [ -z "${PACKAGE_TEST_NO_BUILD:-}" ]; then node scripts/build-debs.mjs; fi
client_deb=$(ls "$repo_root"/out/deb/coffer_*.deb)
server_deb=$(ls "$repo_root"/out/deb/coffer-server_*.deb)

# What the packages may touch; /var/lib/dpkg, caches and logs change by design.
listing() {
  find /etc /usr/bin /usr/sbin /usr/lib /usr/share/doc /usr/share/man /var/lib /opt \
    \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/lib/systemd -o -path /var/lib/ucf \
    -o -path /var/lib/postgresql -o -path /var/lib/mysql \) -prune -o -print 2>/dev/null | sort
}
work=$(mktemp -d /tmp/coffer-package-test-XXXXXX)
chmod 0755 "$work"
listing >"$work/before.txt"

server_pid=
data=
cleanup() {
  local rc=$?
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    [ -f "$work/client.log" ] && sed 's/^/  client: /' "$work/client.log" >&2
    [ -f "$work/server.log" ] && sed 's/^/  server: /' "$work/server.log" >&2
    dpkg --purge coffer-server coffer >/dev/null 2>&1 || true
  fi
  rm -rf "$work" ${data:+"$data"}
  exit $rc
}
trap cleanup EXIT

say "dpkg -i $(basename "$client_deb") $(basename "$server_deb")"
dpkg -i "$client_deb" "$server_deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -i"; }

# Only the installed commands: a clean environment, outside the repository.
cd "$work"
E=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$work/home" LANG=C.UTF-8)
mkdir -p "$work/home"
[ "$(command -v coffer)" = /usr/bin/coffer ] || fail "coffer is not /usr/bin/coffer"
# (Outputs are read whole before grep: with pipefail, grep -q closing early would fail the pipe.)
out=$("${E[@]}" coffer --help) && grep -q "^Usage: coffer COMMAND" <<<"$out" || fail "coffer --help"
out=$("${E[@]}" coffer-server --help) && grep -q "^Usage: coffer-server" <<<"$out" || fail "coffer-server --help"
for page in coffer coffer-server; do
  [ -f "/usr/share/man/man1/$page.1.gz" ] || fail "no man page $page(1)"
  out=$(zcat "/usr/share/man/man1/$page.1.gz")
  grep -q "^\.TH ${page^^} 1" <<<"$out" || fail "$page(1) has no .TH"
done
grep -q '^\.SS "coffer restore"' <<<"$(zcat /usr/share/man/man1/coffer.1.gz)" || fail "coffer(1) lacks restore"
for unit in coffer-agent coffer-server; do
  [ -f "/usr/lib/systemd/system/$unit.service" ] || fail "no $unit.service"
done
grep -q "^ExecStart=/usr/bin/coffer agent run --config /etc/coffer/agent.yaml$" \
  /usr/lib/systemd/system/coffer-agent.service || fail "coffer-agent.service ExecStart"
grep -q "^User=coffer-server$" /usr/lib/systemd/system/coffer-server.service || fail "coffer-server.service User"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /usr/lib/systemd/system/coffer-agent.service \
    /usr/lib/systemd/system/coffer-server.service >"$work/units.log" 2>&1 ||
    { cat "$work/units.log" >&2; fail "systemd-analyze verify of the units"; }
fi
dpkg --verify coffer coffer-server || fail "dpkg --verify: installed files differ from the packages"
getent passwd coffer-server >/dev/null || fail "postinst did not create the coffer-server user"
[ "$(stat -c %U /var/lib/coffer-server)" = coffer-server ] || fail "/var/lib/coffer-server is not coffer-server's"
[ "$(stat -c '%U:%G %a' /etc/coffer-server/server.yaml)" = "root:coffer-server 640" ] || fail "server.yaml mode"
"${E[@]}" coffer agent validate --config /etc/coffer/agent.yaml.example >"$work/validate.log" 2>&1 ||
  { cat "$work/validate.log" >&2; fail "coffer agent validate of the example configuration"; }
say "installed: commands, man pages, units, user, agent example ok"

# Client: init, backup, restore.
echo "package-test password" >"$work/password"
C=("${E[@]}" COFFER_PASSWORD_FILE="$work/password")
mkdir -p "$work/data/sub"
echo hello >"$work/data/a.txt"
head -c 3000000 /dev/urandom >"$work/data/sub/big.bin"
ln -s a.txt "$work/data/link"
"${C[@]}" coffer init -r "$work/repo" -q >>"$work/client.log" || fail "coffer init"
"${C[@]}" coffer backup -r "$work/repo" -q "$work/data" >>"$work/client.log" || fail "coffer backup"
"${C[@]}" coffer restore latest -r "$work/repo" -q --target "$work/restored" >>"$work/client.log" || fail "coffer restore"
diff -r --no-dereference "$work/data" "$work/restored$work/data" || fail "restored tree differs"
# A SQLite database through the sqlite3 tool (no SQLite library in the client package).
if command -v sqlite3 >/dev/null; then
  sqlite3 "$work/app.db" "create table t (x); insert into t values ('row one'), ('row two');"
  "${C[@]}" coffer db backup -r "$work/repo" -q --type sqlite --db "$work/app.db" >>"$work/client.log" || fail "coffer db backup --type sqlite"
  "${C[@]}" coffer db restore latest -r "$work/repo" -q --type sqlite --from app.db --db "$work/app-restored.db" >>"$work/client.log" ||
    fail "coffer db restore --type sqlite"
  [ "$(sqlite3 "$work/app-restored.db" "select group_concat(x, ',') from t")" = "row one,row two" ] ||
    fail "restored SQLite rows differ"
fi
say "client: init, backup, restore (files and SQLite) from /usr/bin/coffer ok"

# Server: start as its user with the packaged configuration, a request, a backup through it.
data=$(mktemp -d /tmp/coffer-package-test-server-XXXXXX)
chown coffer-server:coffer-server "$data"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
S=(setpriv --reuid=coffer-server --regid=coffer-server --init-groups "${E[@]}")
"${S[@]}" coffer-server start --data-dir "$data" --listen "127.0.0.1:$port" --http >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do
  grep -q "listening on" "$work/server.log" && break
  kill -0 "$server_pid" 2>/dev/null || fail "coffer-server exited at start"
  sleep 0.5
done
grep -q "listening on" "$work/server.log" || fail "coffer-server did not start"
code=$(node -e 'fetch(process.argv[1]).then((r) => console.log(r.status))' "http://127.0.0.1:$port/")
[ "$code" = 403 ] || fail "an unsigned request got HTTP $code, expected 403"
src=$("${S[@]}" coffer-server source add web-01 --data-dir "$data" --json) || fail "coffer-server source add"
field() { node -e 'console.log(JSON.parse(process.argv[1])[process.argv[2]])' "$src" "$1"; }
G=("${C[@]}" AWS_ACCESS_KEY_ID="$(field accessKeyId)" AWS_SECRET_ACCESS_KEY="$(field secretAccessKey)")
s3repo=$(field repository)
"${G[@]}" coffer init -r "$s3repo" -q >>"$work/client.log" || fail "coffer init through the gateway"
"${G[@]}" coffer backup -r "$s3repo" -q "$work/data" >>"$work/client.log" || fail "coffer backup through the gateway"
"${G[@]}" coffer restore latest -r "$s3repo" -q --target "$work/restored-s3" >>"$work/client.log" || fail "coffer restore through the gateway"
diff -r --no-dereference "$work/data" "$work/restored-s3$work/data" || fail "tree restored through the gateway differs"
kill -TERM "$server_pid"
wait "$server_pid" || fail "coffer-server did not stop cleanly on SIGTERM"
server_pid=
rm -rf "$data"
data=
say "server: start as coffer-server, request (403), source add, backup+restore through it, stop ok"

# Purge: nothing left.
cd "$repo_root"
dpkg --purge coffer-server coffer >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "dpkg --purge"; }
rm -rf "$work/home" # the client's cache of the S3 repository: user data, not the package's
getent passwd coffer-server >/dev/null && fail "the coffer-server user is left after purge"
getent group coffer-server >/dev/null && fail "the coffer-server group is left after purge"
listing >"$work/after.txt"
# Every path the packages install or their scripts make has "coffer" in it (the shared parents
# /usr/lib/systemd/system and such excepted, which they never remove); other changes come from
# other processes on this machine and are only shown.
diff "$work/before.txt" "$work/after.txt" >"$work/changed.txt" || true
if grep -i coffer "$work/changed.txt" >"$work/left.txt"; then
  cat "$work/left.txt" >&2
  fail "dpkg --purge left files behind (or removed some)"
fi
if [ -s "$work/changed.txt" ]; then
  say "note: paths changed meanwhile by other processes:"; grep '^[<>]' "$work/changed.txt" | head -20
fi
say "purged: no file, user or group left"
say "ok"
