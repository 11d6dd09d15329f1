#!/usr/bin/env bash
# Idempotently installs the Debian packages the tests need and starts the local database
# servers when they are stopped. Safe to run repeatedly; does nothing when all is present.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have restic || need+=(restic)
# borg (Debian's borgbackup): npm run bench measures it side by side with restic.
have borg || need+=(borgbackup)
have rclone || need+=(rclone)
# curl: the WebDAV tests (coffer serve webdav) speak PROPFIND/GET/Range through it.
have curl || need+=(curl)
# Debian's awscli v2 at /usr/bin/aws (a pip/pyenv v1 `aws` earlier on PATH does not count).
[ -x /usr/bin/aws ] || need+=(awscli)
have s3cmd || need+=(s3cmd)
have zstd || need+=(zstd)
have tar || need+=(tar)
have openssl || need+=(openssl)
# The Debian packages (scripts/package-test.sh) depend on adduser.
[ -x /usr/sbin/adduser ] || need+=(adduser)
have sqlite3 || need+=(sqlite3)
have pg_dump || need+=(postgresql-client)
have mariadb-dump || need+=(mariadb-client)
# zsh: the shell completion test runs the generated zsh script (src/cli/completion.test.ts).
have zsh || need+=(zsh)
if [ ${#need[@]} -gt 0 ]; then
  echo "ensure-system-deps: installing ${need[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null ||
    { $SUDO apt-get update -q >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null; }
fi

# PostgreSQL and MariaDB (used by the database dump tests): start them when stopped.
if [ -d /etc/postgresql ] && ! pg_isready -q -h 127.0.0.1 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if have mariadbd || [ -x /usr/sbin/mariadbd ]; then
  if ! mariadb-admin ping --silent >/dev/null 2>&1; then
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
    for _ in $(seq 1 30); do mariadb-admin ping --silent >/dev/null 2>&1 && break; sleep 1; done
  fi
fi
exit 0
