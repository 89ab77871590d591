#!/usr/bin/env bash
# Sync benchmarks (release build, app and emulated Jira sites in one process, loopback):
#   latency  — edits on alpha at 10/s until visible on beta: p50/p90/p99, Jira calls per change
#   throughput — initial sync of BENCH_ISSUES issues (3 comments + one 100 KB attachment each)
#                with Jira answering at BENCH_JIRA_LATENCY_MS per call, on SQLite and, when
#                BENCH_PG_URL is set, on PostgreSQL.
#   bash bench/sync.sh       Knobs: BENCH_EDITS=300 BENCH_ISSUES=1000 BENCH_JIRA_LATENCY_MS=20
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
out=bench/results/sync.txt
: >"$out"
run() { # test-name [env...]
  local name="$1"; shift
  env "$@" cargo test --release --locked -q --test api "$name" -- --ignored --nocapture 2>&1 \
    | grep -E '^sync_(latency|throughput)' | tee -a "$out"
}
echo "# $(date -u +%FT%TZ) $(uname -srm) nproc=$(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" | tee -a "$out"
run bench_sync_latency
run bench_sync_throughput
if [ -n "${BENCH_PG_URL:-}" ]; then
  run bench_sync_throughput EXALATE_TEST_DATABASE_URL="$BENCH_PG_URL"
fi
