#!/usr/bin/env bash
# Instructions per request of the classroom storm (every request UPSTREAM_ERROR), alerting on vs
# off, counted by valgrind's callgrind (independent of the machine's load). Each mode runs twice,
# with a small and a large number of requests; the difference divided by the difference in
# requests is the cost per request, without start-up and sign-up.
# Needs valgrind. Usage: scripts/bench-storm-instructions.sh [small] [large]
set -euo pipefail
cd "$(dirname "$0")/.."
small=${1:-2000}
large=${2:-6000}
port=18190
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo build --release -q -p classroom
cargo build --release -q -p classroom --example storm

# Total instructions of one run: classroom under callgrind, `$2` requests with 4 in flight.
run() {
  local alerts=$1 n=$2 dir="$tmp/$1-$2"
  mkdir -p "$dir"
  CLASSROOM_ADDR=127.0.0.1:$port DATABASE_URL="sqlite://$dir/c.db" JWT_SECRET=storm-secret-0123456789abcdef \
    KAKAO_API_BASE=http://127.0.0.1:9 CLASSROOM_RATE_ANON=off CLASSROOM_RATE_USER=off CLASSROOM_RATE_BURST=off \
    ERRATA_ALERTS=$alerts ERRATA_STORE="$dir/a.sqlite3" ERRATA_SLACK_WEBHOOK_URL=http://127.0.0.1:9/hook RUST_LOG=off \
    valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" target/release/classroom >"$dir/log" 2>&1 &
  local pid=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
  local token
  token=$(curl -sf -X POST "http://127.0.0.1:$port/v1/auth/signup" -H 'content-type: application/json' \
    -d '{"email":"storm@example.com","password":"storm-password","name":"Storm"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])')
  target/release/examples/storm "http://127.0.0.1:$port/v1/user/kakao-channel-added" "$n" 4 \
    "Authorization: Bearer $token" "X-Kakao-Token: t" >/dev/null
  sleep 1
  kill -TERM "$pid"; wait "$pid" || true
  awk '/^summary:/ {print $2}' "$dir/cg.out"
}

for alerts in off on; do
  a=$(run "$alerts" "$small"); b=$(run "$alerts" "$large")
  echo "alerting $alerts: $(( (b - a) / (large - small) )) instructions per request"
done
