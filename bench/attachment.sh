#!/usr/bin/env bash
# Memory benchmark: a BENCH_ATTACHMENT_MB (default 1024) attachment synced alpha → beta through a
# separate `exalate serve` process (release build), its RSS sampled every 20 ms; goal: growth < 64 MB.
#   bash bench/attachment.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
out=bench/results/attachment.txt
echo "# $(date -u +%FT%TZ) $(uname -srm) nproc=$(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" | tee "$out"
cargo test --release --locked -q --test api bench_attachment_memory -- --ignored --nocapture 2>&1 \
  | grep -E '^attachment_memory' | tee -a "$out"
