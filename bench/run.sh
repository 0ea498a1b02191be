#!/usr/bin/env bash
# What `make bench` runs after `make build`: installs the reference peer's
# npm packages, then runs every scenario against the Node peer and chatapp
# alternately (bench/compare). BENCH_QUICK=1 runs a ~1 minute smoke version.
# Extra arguments go to bench/compare (e.g. --rounds 3, --only fanout,dm).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v node >/dev/null || { echo "bench: node (20+) is required for the reference peer" >&2; exit 1; }
(cd bench/peer && npm ci --no-audit --no-fund --loglevel=error)
# Both servers and the generator hold thousands of sockets.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec go run ./bench/compare --chatapp ./chatapp "$@"
