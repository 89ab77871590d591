#!/usr/bin/env bash
# JWT benchmark: our release build on SQLite with TENANTS installed tenants (signed installs, timed),
# wrk on a JWT-verified module page with tokens of all tenants, then the official Node framework
# (bench/ace/run.sh) with the same wrk settings in the same run.
#
#   bash bench/jwt.sh            # from the project root
# Knobs: TENANTS=10000 THREADS=2 CONNS=32 DURATION=10s RUNS=3 WARMUP=5s PORT=38180 SKIP_ACE=1
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
TENANTS="${TENANTS:-10000}"; THREADS="${THREADS:-2}"; CONNS="${CONNS:-32}"
DURATION="${DURATION:-10s}"; RUNS="${RUNS:-3}"; WARMUP="${WARMUP:-5s}"
PORT="${PORT:-38180}"; KEY_PORT="${KEY_PORT:-38181}"
PAGE="/pages/admin/connections"
RES="$ROOT/bench/results"; WORK="$(mktemp -d /tmp/exalate-bench.XXXXXX)"
mkdir -p "$RES"
log() { printf '[jwt.sh] %s\n' "$*" >&2; }

command -v wrk >/dev/null || { log "installing wrk"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
log "building release binaries"
cargo build --release --locked -q -p exalate -p bench-loadgen

# Stand-in for connect-install-keys.atlassian.com: a static file named after the kid.
KID="bench-install-key"
mkdir -p "$WORK/keys"
openssl genrsa -out "$WORK/install.pem" 2048 2>/dev/null
openssl rsa -in "$WORK/install.pem" -pubout -out "$WORK/keys/$KID" 2>/dev/null
python3 -m http.server "$KEY_PORT" --bind 127.0.0.1 --directory "$WORK/keys" >"$WORK/keys.log" 2>&1 &
KEYS_PID=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$KEY_PORT/$KID" && break; sleep 0.1; done

export EXALATE__SERVER__LISTEN="127.0.0.1:$PORT"
export EXALATE__SERVER__BASE_URL="http://127.0.0.1:$PORT"
export EXALATE__DATABASE__URL="sqlite://$WORK/exalate.db?mode=rwc"
export EXALATE__SECURITY__KEY_FILE="$WORK/exalate.key"
export EXALATE__CONNECT__INSTALL_KEYS_URL="http://127.0.0.1:$KEY_PORT"
export EXALATE__LOG__FILTER="${EXALATE_BENCH_LOG:-warn}"
"$ROOT/target/release/exalate" serve >"$WORK/server.log" 2>&1 &
APP_PID=$!
cleanup() { kill "$APP_PID" "$KEYS_PID" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/health_check" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/health_check" || { cat "$WORK/server.log"; exit 1; }

log "installing $TENANTS tenants through the signed install hook"
INSTALL=$("$ROOT/target/release/bench-loadgen" install "http://127.0.0.1:$PORT" "$TENANTS" "$WORK/install.pem" "$KID" 64 "$WORK/tokens.txt" "$PAGE")
log "$INSTALL"
INSTALL_SECS=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$INSTALL")

# Sanity: a valid token passes, a forged one does not.
TOKEN=$(head -1 "$WORK/tokens.txt")
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
C_OK=$(code -H "Authorization: JWT $TOKEN" "http://127.0.0.1:$PORT$PAGE")
C_BAD=$(code -H "Authorization: JWT ${TOKEN%?}x" "http://127.0.0.1:$PORT$PAGE")
C_QSH=$(code -H "Authorization: JWT $TOKEN" "http://127.0.0.1:$PORT/pages/admin/errors")
log "sanity: valid=$C_OK bad_signature=$C_BAD wrong_qsh=$C_QSH"
[ "$C_OK" = 200 ] && [ "$C_BAD" = 401 ] && [ "$C_QSH" = 401 ] || { log "sanity check failed"; exit 1; }

to_ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); printf "%.3f", v/1000}
                               else if (v ~ /ms$/) {sub(/ms$/,"",v); printf "%.3f", v}
                               else if (v ~ /s$/) {sub(/s$/,"",v); printf "%.3f", v*1000}
                               else printf "%s", v }'; }
median() { sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2 }'; }
rss_kb() { ps -o rss= -p "$APP_PID" | tr -d ' '; }

export BENCH_TOKENS="$WORK/tokens.txt" BENCH_PAGE="$PAGE"
RSS_IDLE=$(rss_kb)
wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s bench/rotate-tokens.lua "http://127.0.0.1:$PORT" >/dev/null
: >"$RES/exalate-jwt-runs.tsv"
for i in $(seq 1 "$RUNS"); do
  f="$RES/exalate-jwt-run$i.txt"
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s bench/rotate-tokens.lua "http://127.0.0.1:$PORT" >"$f"
  non2xx=$(awk '/Non-2xx or 3xx responses:/{print $NF}' "$f"); non2xx=${non2xx:-0}
  [ "$non2xx" = 0 ] || { log "run $i: $non2xx non-2xx responses"; cat "$f"; exit 1; }
  rps=$(awk '/^Requests\/sec:/{print $2}' "$f")
  p50=$(to_ms "$(awk '$1=="50%"{print $2}' "$f")"); p99=$(to_ms "$(awk '$1=="99%"{print $2}' "$f")")
  printf '%s\t%s\t%s\n' "$rps" "$p50" "$p99" >>"$RES/exalate-jwt-runs.tsv"
  log "exalate run $i: rps=$rps p50_ms=$p50 p99_ms=$p99"
done
RSS_JWT=$(rss_kb)
HWM=$(awk '/^VmHWM:/{print $2}' "/proc/$APP_PID/status")
cleanup; trap - EXIT

E_RPS=$(cut -f1 "$RES/exalate-jwt-runs.tsv" | median)
E_P50=$(cut -f2 "$RES/exalate-jwt-runs.tsv" | median)
E_P99=$(cut -f3 "$RES/exalate-jwt-runs.tsv" | median)

ACE_LINE="ace skipped (SKIP_ACE=1)"
A_RPS=""; A_P99=""; A_RSS=""
if [ "${SKIP_ACE:-0}" != 1 ]; then
  log "running the ACE baseline (bench/ace/run.sh) with the same wrk settings"
  THREADS="$THREADS" CONNS="$CONNS" DURATION="$DURATION" RUNS="$RUNS" WARMUP="$WARMUP" \
    bash "$ROOT/bench/ace/run.sh" | tee "$RES/ace-summary.txt"
  ACE_LINE=$(grep '^ace_jwt_rps=' "$RES/ace-summary.txt" | tail -1)
  A_RPS=$(sed -n 's/^ace_jwt_rps=\([0-9.]*\).*/\1/p' <<<"$ACE_LINE")
  A_P99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$ACE_LINE")
  A_RSS=$(sed -n 's/.*rss_kb=\([0-9]*\).*/\1/p' <<<"$ACE_LINE")
fi

{
  echo "# $(date -u +%FT%TZ) $(uname -srm) nproc=$(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "# wrk -t$THREADS -c$CONNS -d$DURATION --latency x$RUNS (median), warm-up $WARMUP, tokens of $TENANTS tenants rotated"
  echo "exalate_install tenants=$TENANTS seconds=$INSTALL_SECS"
  echo "exalate_jwt_rps=$E_RPS p50_ms=$E_P50 p99_ms=$E_P99 rss_kb=$RSS_JWT rss_idle_kb=$RSS_IDLE peak_kb=$HWM tenants=$TENANTS"
  echo "$ACE_LINE"
  if [ -n "$A_RPS" ]; then
    awk -v e="$E_RPS" -v a="$A_RPS" 'BEGIN{ printf "ratio_rps=%.1fx\n", e/a }'
  fi
} | tee "$RES/summary.txt"
rm -rf "$WORK"
