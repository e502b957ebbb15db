#!/usr/bin/env bash
# Sets up everything the tests need, then runs the whole suite.
# PostgreSQL tests use the server at 127.0.0.1:5432 (user postgres, trust auth);
# set POSSYNC_TEST_PG to use another. Without a server they skip, except in CI.
# Browser tests use Debian's chromium package, installed here if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

# The web tests drive Debian's Chromium (never a browser downloaded at run time).
if ! command -v chromium >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium
fi

# Start the local PostgreSQL cluster if it is installed but stopped.
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null; then
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    [ -n "$version" ] && pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
fi

exec .venv/bin/python -m pytest -n 2 "$@"
