#!/usr/bin/env bash
# Instructions per error request in the edge layer, counted by valgrind's callgrind (independent
# of the machine's load): 1,000 requests on one keep-alive connection to the errata route of
# the load-test server, then the inclusive cost of the layer's pieces divided by the count.
# Needs valgrind. Usage: scripts/bench-instructions.sh [requests]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
addr=127.0.0.1:3998
out=$(mktemp)
cargo build --release -q -p errata-axum --example loadbench
valgrind --tool=callgrind --callgrind-out-file="$out" target/release/examples/loadbench "$addr" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$out"' EXIT
python3 - "$addr" "$n" <<'PY'
import http.client, sys, time
host, port = sys.argv[1].split(":"); n = int(sys.argv[2])
for _ in range(300):
    try:
        c = http.client.HTTPConnection(host, int(port)); c.request("GET", "/hand/lectures/1"); c.getresponse().read(); break
    except OSError: time.sleep(0.2)
c = http.client.HTTPConnection(host, int(port))
for _ in range(n):
    c.request("GET", "/errata/lectures/7"); c.getresponse().read()
PY
kill -TERM "$server"; wait "$server" 2>/dev/null || true
callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
  grep -E "errata_axum::layer::finish|Renderer::render(_with_report)? \[|RequestContext::from_request|IntoResponse for errata::error::ApiError>::into_response" |
  awk -v n="$n" '{gsub(",", "", $1); name = $0; sub(/.*\?\?\?:/, "", name); sub(/ \[.*/, "", name); printf "%8d  %s\n", $1 / n, name}'
