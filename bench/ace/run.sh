#!/usr/bin/env bash
# Reproducible baseline: atlassian-connect-express 11.5.3 serving a JWT-protected route.
#
#   bash bench/ace/run.sh   # from the project root, or any cwd
#
# Steps: install deps (npm ci, only when package-lock.json changed or FRESH=1),
# install wrk if missing (apt-get), start app.js in the background, mint a token,
# sanity-check accept/reject with curl, warm up, run wrk RUNS times against the
# JWT route and the unauthenticated /static route, print a summary, stop the
# server by its PID.  Raw wrk output goes to results/ (git-ignored).
#
# Knobs (env): PORT=38080 THREADS=2 CONNS=32 DURATION=10s RUNS=3 WARMUP=5s
#              FRESH=1 (wipe node_modules first)  ACE_TENANTS=3
# Output (last lines):
#   ace_jwt_rps=N p99_ms=M rss_kb=K          (median of RUNS; rss after the JWT runs)
#   ace_static_rps=N p99_ms=M rss_kb=K
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The checkout may be read-only: then work on a scratch copy (node_modules and results live there).
if [ ! -w "$DIR" ]; then
  W="${ACE_WORKDIR:-${TMPDIR:-/tmp}/ace-bench}"
  mkdir -p "$W" && cp -a "$DIR"/. "$W"/ && DIR="$W"
fi
cd "$DIR"

PORT="${PORT:-38080}"
THREADS="${THREADS:-2}"
CONNS="${CONNS:-32}"
DURATION="${DURATION:-10s}"
RUNS="${RUNS:-3}"
WARMUP="${WARMUP:-5s}"
export PORT ACE_TENANTS="${ACE_TENANTS:-3}"
RES="$DIR/results"
mkdir -p "$RES"

log() { printf '[run.sh] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- install
lock_sum() { sha256sum package.json package-lock.json | sha256sum | cut -d' ' -f1; }
STAMP=node_modules/.bench-install-stamp
if [ "${FRESH:-0}" = 1 ]; then
  log "FRESH=1: removing node_modules"
  rm -rf node_modules
fi
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$(lock_sum)" ] \
   || ! node -e 'require("sqlite3"); require("atlassian-connect-express")' >/dev/null 2>&1; then
  log "npm ci (sqlite3 5.1.7 has no reachable prebuilt binary here: node-gyp builds it, ~45 s)"
  npm ci --no-audit --no-fund >"$RES/npm-install.log" 2>&1 || { tail -30 "$RES/npm-install.log"; exit 1; }
  lock_sum >"$STAMP"
else
  log "node_modules up to date"
fi
log "versions: node $(node -v), $(node -p '"ace " + require("atlassian-connect-express/package.json").version + ", atlassian-jwt " + require("atlassian-jwt/package.json").version + ", express " + require("express/package.json").version + ", sequelize " + require("sequelize/package.json").version + ", sqlite3 " + require("sqlite3/package.json").version')"

if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null
fi
command -v curl >/dev/null || { log "curl is required"; exit 1; }

# ---------------------------------------------------------------- server
if curl -s -o /dev/null -m 1 "http://127.0.0.1:$PORT/"; then
  log "something is already listening on 127.0.0.1:$PORT; set PORT=..."; exit 1
fi
NODE_ENV=production node app.js >"$RES/server.log" 2>&1 &
SERVER_PID=$!
stop_server() {
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap stop_server EXIT INT TERM

for _ in $(seq 1 100); do
  curl -s -o /dev/null -m 1 "http://127.0.0.1:$PORT/static" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { log "server died:"; cat "$RES/server.log"; exit 1; }
  sleep 0.2
done
log "$(head -1 "$RES/server.log")"

# ---------------------------------------------------------------- token + sanity
TOKEN="$(node mint.js GET /api/ping)"
BAD_SIG="$(node mint.js GET /api/ping --secret not-the-tenant-secret)"
BAD_QSH="$(node mint.js GET /api/other)"
EXPIRED="$(node mint.js GET /api/ping --exp -60)"
code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$@"; }
C_OK=$(code -H "Authorization: JWT $TOKEN" "http://127.0.0.1:$PORT/api/ping")
C_QUERY=$(code "http://127.0.0.1:$PORT/api/ping?jwt=$TOKEN")
C_SIG=$(code -H "Authorization: JWT $BAD_SIG" "http://127.0.0.1:$PORT/api/ping")
C_QSH=$(code -H "Authorization: JWT $BAD_QSH" "http://127.0.0.1:$PORT/api/ping")
C_EXP=$(code -H "Authorization: JWT $EXPIRED" "http://127.0.0.1:$PORT/api/ping")
C_NONE=$(code "http://127.0.0.1:$PORT/api/ping")
log "sanity: valid=$C_OK query_param=$C_QUERY bad_signature=$C_SIG bad_qsh=$C_QSH expired=$C_EXP no_token=$C_NONE"
# ACE answers a bad HMAC signature with 400 (not 401); everything else here is 401.
if [ "$C_OK" != 200 ] || [ "$C_QUERY" != 200 ] || [ "$C_SIG" != 400 ] \
   || [ "$C_QSH" != 401 ] || [ "$C_EXP" != 401 ] || [ "$C_NONE" != 401 ]; then
  log "sanity check failed"; exit 1
fi

# ---------------------------------------------------------------- wrk
# to_ms VALUE  (wrk prints e.g. 850.00us, 9.83ms, 1.02s)
to_ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); printf "%.3f", v/1000}
                               else if (v ~ /ms$/) {sub(/ms$/,"",v); printf "%.3f", v}
                               else if (v ~ /s$/) {sub(/s$/,"",v); printf "%.3f", v*1000}
                               else printf "%s", v }'; }
median() { sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2 }'; }

bench() { # name url [header]
  local name="$1" url="$2" hdr="${3:-}" i f rps p50 p99 non2xx
  local -a H=()
  [ -n "$hdr" ] && H=(-H "$hdr")
  wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "${H[@]}" "$url" >"$RES/${name}-warmup.txt"
  : >"$RES/${name}-runs.tsv"
  for i in $(seq 1 "$RUNS"); do
    f="$RES/${name}-run$i.txt"
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${H[@]}" "$url" >"$f"
    rps=$(awk '/^Requests\/sec:/{print $2}' "$f")
    p50=$(to_ms "$(awk '$1=="50%"{print $2}' "$f")")
    p99=$(to_ms "$(awk '$1=="99%"{print $2}' "$f")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/{print $NF}' "$f"); non2xx=${non2xx:-0}
    if grep -q 'Socket errors' "$f"; then log "$name run $i: $(grep 'Socket errors' "$f")"; fi
    [ "$non2xx" = 0 ] || { log "$name run $i: $non2xx non-2xx responses"; cat "$f"; exit 1; }
    printf '%s\t%s\t%s\n' "$rps" "$p50" "$p99" >>"$RES/${name}-runs.tsv"
    log "$name run $i: rps=$rps p50_ms=$p50 p99_ms=$p99"
  done
}
rss_kb() { ps -o rss= -p "$SERVER_PID" | tr -d ' '; }
hwm_kb() { awk '/^VmHWM:/{print $2}' "/proc/$SERVER_PID/status"; }

RSS_IDLE=$(rss_kb)
bench jwt "http://127.0.0.1:$PORT/api/ping" "Authorization: JWT $TOKEN"
RSS_JWT=$(rss_kb)
bench static "http://127.0.0.1:$PORT/static"
RSS_STATIC=$(rss_kb)
HWM=$(hwm_kb)

# confirm the token is still accepted after the runs (no expiry mid-benchmark)
[ "$(code -H "Authorization: JWT $TOKEN" "http://127.0.0.1:$PORT/api/ping")" = 200 ] || { log "token no longer accepted"; exit 1; }

stop_server
trap - EXIT INT TERM

J_RPS=$(cut -f1 "$RES/jwt-runs.tsv" | median);    J_P50=$(cut -f2 "$RES/jwt-runs.tsv" | median);    J_P99=$(cut -f3 "$RES/jwt-runs.tsv" | median)
S_RPS=$(cut -f1 "$RES/static-runs.tsv" | median); S_P50=$(cut -f2 "$RES/static-runs.tsv" | median); S_P99=$(cut -f3 "$RES/static-runs.tsv" | median)
{
  echo "# $(date -u +%FT%TZ) $(uname -srm) nproc=$(nproc) wrk -t$THREADS -c$CONNS -d$DURATION x$RUNS (median), warmup $WARMUP"
  echo "# jwt runs (rps p50_ms p99_ms):";    sed 's/^/#   /' "$RES/jwt-runs.tsv"
  echo "# static runs (rps p50_ms p99_ms):"; sed 's/^/#   /' "$RES/static-runs.tsv"
  echo "# rss_kb idle=$RSS_IDLE after_jwt=$RSS_JWT after_static=$RSS_STATIC peak(VmHWM)=$HWM"
  echo "ace_jwt_rps=$J_RPS p50_ms=$J_P50 p99_ms=$J_P99 rss_kb=$RSS_JWT"
  echo "ace_static_rps=$S_RPS p50_ms=$S_P50 p99_ms=$S_P99 rss_kb=$RSS_STATIC"
  echo "ace_jwt_rps=$J_RPS p99_ms=$J_P99 rss_kb=$RSS_JWT"
} | tee "$RES/summary.txt"
