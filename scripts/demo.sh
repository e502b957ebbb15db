#!/usr/bin/env bash
# Sets up possync, then runs the demo on SQLite: a store with a sample catalog,
# two terminals selling while the store server is down, a sync, the store status.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/possync demo "$@"
