#!/usr/bin/env bash
# System packages the test suite needs, installed idempotently (CI and fresh machines).
# - psql (PostgreSQL client) and the PostgreSQL server binaries (initdb, pg_ctl) for private
#   instances that test md5/SCRAM/TLS towards the target.
set -euo pipefail

need=()
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The mariadb command-line client, for the MySQL adapter's end-to-end tests.
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
# sshd (a private instance is the SSH adapter's target in tests) and ssh/ssh-keygen.
test -x /usr/sbin/sshd || need+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
# rsync through Warden's SSH adapter (client and target side on this machine).
command -v rsync >/dev/null 2>&1 || need+=(rsync)
# asciinema plays terminal recordings back in a test (the real player reads Warden's asciicast v2).
command -v asciinema >/dev/null 2>&1 || need+=(asciinema)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps: missing ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
