#!/usr/bin/env bash
# Instructions per error request, counted by valgrind's callgrind (independent of the machine's
# load): requests on one keep-alive connection to the load-test server, run with one tokio
# worker thread (with more, what idle workers spin depends on the machine's load). Prints the
# whole cost of a request on the errata route and on the two hand-written ones (each run's
# total minus that of a run with a single request, divided by the count), then the inclusive
# cost of the edge layer's pieces. Needs valgrind. Usage: scripts/bench-instructions.sh [requests]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3000}
addr=127.0.0.1:3998
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo build --release -q -p errata-axum --example loadbench

# Serves under callgrind, sends `$2` requests to `$1`, writes the profile to `$3`.
profile() {
  TOKIO_WORKER_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$3" target/release/examples/loadbench "$addr" 2>/dev/null &
  local server=$!
  python3 - "$addr" "$2" "$1" <<'PY'
import http.client, sys, time
host, port = sys.argv[1].split(":"); n = int(sys.argv[2]); path = sys.argv[3]
for _ in range(300):
    try:
        c = http.client.HTTPConnection(host, int(port)); c.request("GET", "/nothing"); c.getresponse().read(); break
    except OSError: time.sleep(0.2)
c = http.client.HTTPConnection(host, int(port))
for _ in range(n):
    c.request("GET", path); c.getresponse().read()
PY
  kill -TERM "$server"; wait "$server" 2>/dev/null || true
}
total() { awk '/^summary:/ {print $2}' "$1"; }

profile /hand/lectures/7 1 "$tmp/base.out"
profile /errata/lectures/7 "$n" "$tmp/errata.out"
profile /hand-id/lectures/7 "$n" "$tmp/hand-id.out"
profile /hand/lectures/7 "$n" "$tmp/hand.out"
base=$(total "$tmp/base.out")
per_request() { echo $(( ($(total "$1") - base) / n )); }
errata=$(per_request "$tmp/errata.out"); hand_id=$(per_request "$tmp/hand-id.out"); hand=$(per_request "$tmp/hand.out")
echo "per request, errata route:                             $errata"
echo "per request, hand-written, same response (tower-http ids): $hand_id (hand-written/errata: $(echo "scale=3; $hand_id / $errata" | bc -l)×)"
echo "per request, hand-written, no request id:              $hand (hand-written/errata: $(echo "scale=3; $hand / $errata" | bc -l)×)"
echo "per request, in the edge layer:"
callgrind_annotate --inclusive=yes "$tmp/errata.out" 2>/dev/null |
  grep -E "errata_axum::layer::finish|Renderer::render(_with_report)? \[|RequestContext::from_request|IntoResponse for errata::error::ApiError>::into_response" |
  awk -v n="$n" '{gsub(",", "", $1); name = $0; sub(/.*\?\?\?:/, "", name); sub(/ \[.*/, "", name); printf "%8d  %s\n", $1 / n, name}'
