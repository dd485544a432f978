#!/usr/bin/env bash
# An error storm through the classroom service, alerting on (Slack-like sink on loopback pacing
# at 1 message/s per channel) vs alerting off: request throughput of each, peak memory, Slack
# messages sent, and whether the store counted every error.
# Usage: scripts/bench-storm.sh [requests per run] [rounds] [sqlite|postgres|both]
# `postgres` puts the service's database and the alert store in PostgreSQL (127.0.0.1:5432, user
# postgres, or PG_ADMIN_URL): one fresh database per run, dropped afterwards; `both` runs the
# SQLite rounds and then the PostgreSQL rounds, side by side in one invocation.
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-50000}
rounds=${2:-2}
backends=${3:-sqlite}
[ "$backends" = both ] && backends="sqlite postgres"
pg_admin=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
port=18180
slack_port=18181
tmp=$(mktemp -d)
pids=()
drop_pg() { psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1 || true; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [[ " $backends " == *" postgres "* ]]; then
    for d in $(psql -tA "$pg_admin" -c "SELECT datname FROM pg_database WHERE datname LIKE 'classroom_bench_$$_%'" 2>/dev/null); do
      drop_pg "$d"
    done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Slack's incoming webhook as it behaves: at most one message per second per channel, beyond
# that 429 with Retry-After.
python3 - "$slack_port" "$tmp/slack.count" >/dev/null 2>&1 <<'PY' &
import http.server, sys, threading, time
port, count_file = int(sys.argv[1]), sys.argv[2]
lock, state = threading.Lock(), {"last": 0.0, "ok": 0}
class Slack(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with lock:
            now = time.monotonic()
            if now - state["last"] < 1.0:
                self.send_response(429); self.send_header("Retry-After", "1"); self.end_headers()
                self.wfile.write(b'{"ok":false,"error":"rate_limited"}'); return
            state["last"] = now; state["ok"] += 1
            open(count_file, "w").write(str(state["ok"]))
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Slack).serve_forever()
PY
pids+=($!)

# PROFILE=debug: the debug builds (quicker to build, slower to run: compare within one run only).
profile=${PROFILE:-release}
flag=$([ "$profile" = release ] && echo --release || true)
cargo build $flag -q -p classroom -p errata-cli
cargo build $flag -q -p classroom --example storm
bin=${CARGO_TARGET_DIR:-target}/$profile

# Creates a fresh PostgreSQL database named $1 (dropped at the end of its run, or on exit).
pg_db() { psql -q "$pg_admin" -c "CREATE DATABASE $1" >/dev/null; }

# Starts the service (alerting on or off) on a backend, storms it, stops it; prints
# "rps peak_kib requests counted".
storm() {
  local alerts=$1 backend=$2 store db dbs=()
  if [ "$backend" = postgres ]; then
    dbs=("classroom_bench_$$_${RANDOM}_app" "classroom_bench_$$_${RANDOM}_alerts")
    pg_db "${dbs[0]}"; pg_db "${dbs[1]}"
    db="${pg_admin%/*}/${dbs[0]}"; store="${pg_admin%/*}/${dbs[1]}"
  else
    db="sqlite://$tmp/c-$RANDOM.db"; store="$tmp/alerts-$1-$RANDOM.sqlite3"
  fi
  CLASSROOM_ADDR=127.0.0.1:$port DATABASE_URL="$db" JWT_SECRET=storm-secret-0123456789abcdef \
    KAKAO_API_BASE=http://127.0.0.1:9 CLASSROOM_RATE_ANON=off CLASSROOM_RATE_USER=off CLASSROOM_RATE_BURST=off \
    ERRATA_ALERTS=$alerts ERRATA_STORE="$store" ERRATA_SLACK_WEBHOOK_URL=http://127.0.0.1:$slack_port/hook \
    RUST_LOG=off "$bin/classroom" >"$tmp/classroom.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  local token
  token=$(curl -sf -X POST "http://127.0.0.1:$port/v1/auth/signup" -H 'content-type: application/json' \
    -d '{"email":"storm@example.com","password":"storm-password","name":"Storm"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])')
  local out rps requests peak
  out=$("$bin/examples/storm" "http://127.0.0.1:$port/v1/user/kakao-channel-added" "$total" 32 \
    "Authorization: Bearer $token" "X-Kakao-Token: t")
  rps=$(echo "$out" | sed -n 's/.*rps=\([0-9.]*\).*/\1/p')
  requests=$(echo "$out" | sed -n 's/.*errors=\([0-9]*\).*/\1/p')
  peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" || true
  if [ "$alerts" = on ]; then
    counted=$("$bin/errata" stats --store "$store" --from -1h --format json |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(r["count"] for r in d["rows"] if r["code"]=="UPSTREAM_ERROR"))')
    echo "$rps $peak $requests $counted"
  else
    echo "$rps $peak $requests -"
  fi
  for d in "${dbs[@]}"; do drop_pg "$d"; done
}

for backend in $backends; do
  on_total=0; off_total=0
  for r in $(seq "$rounds"); do
    read -r on_rps on_peak on_req on_counted < <(storm on "$backend")
    read -r off_rps off_peak _ _ < <(storm off "$backend")
    echo "$backend round $r: alerting on ${on_rps} req/s (peak ${on_peak} KiB; ${on_req} errors sent, ${on_counted} counted), alerting off ${off_rps} req/s (peak ${off_peak} KiB)"
    [ "$on_req" = "$on_counted" ] || echo "  MISSING: $((on_req - on_counted)) errors not counted"
    on_total=$(echo "$on_total + $on_rps" | bc -l); off_total=$(echo "$off_total + $off_rps" | bc -l)
  done
  echo "$backend ratio on/off: $(echo "scale=3; $on_total / $off_total" | bc -l)"
done
echo "Slack messages accepted: $(cat "$tmp/slack.count" 2>/dev/null || echo 0)"
