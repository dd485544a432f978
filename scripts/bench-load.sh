#!/usr/bin/env bash
# Load on loopback: the same error through the whole errata stack vs hand-written axum JSON
# (the same response, request id by tower-http's layers; and, as a floor, without a request
# id), same binary, same run, alternating rounds. Prints requests/s per round and the ratios.
# The server runs one tokio worker pinned to the last CPU and wrk is pinned to the first
# (scripts/bench-lib.sh; BENCH_PIN=0 unpinned): pinned, the ratio moved by about 1% from one
# run to the next, unpinned by ±6%.
# Needs wrk (Debian package `wrk`). Usage: scripts/bench-load.sh [seconds per round] [rounds] (e.g. 1 20)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
secs=${1:-5}
rounds=${2:-3}
addr=127.0.0.1:3999
cargo build --release -q -p errata-axum --example loadbench
"${on_server_core[@]}" target/release/examples/loadbench "$addr" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://$addr/hand/lectures/1" && break; sleep 0.1; done

rps() { "${on_client_core[@]}" wrk -t1 -c32 -d"${secs}s" "http://$addr$1" | awk '/Requests\/sec/ {print $2}'; }
errata_total=0; hand_id_total=0; hand_total=0; same_ratios=(); bare_ratios=()
for r in $(seq "$rounds"); do
  e=$(rps /errata/lectures/7); i=$(rps /hand-id/lectures/7); h=$(rps /hand/lectures/7)
  echo "round $r: errata ${e} req/s, hand-written same response ${i} req/s, hand-written no id ${h} req/s (errata/same response: $(echo "scale=3; $e / $i" | bc -l))"
  errata_total=$(echo "$errata_total + $e" | bc -l); hand_id_total=$(echo "$hand_id_total + $i" | bc -l)
  hand_total=$(echo "$hand_total + $h" | bc -l)
  same_ratios+=("$(echo "$e / $i" | bc -l)"); bare_ratios+=("$(echo "$e / $h" | bc -l)")
done
echo "median of the rounds' ratios, errata/hand-written, same response: $(median "${same_ratios[@]}"); no request id: $(median "${bare_ratios[@]}")"
echo "ratio errata/hand-written, same response: $(echo "scale=3; $errata_total / $hand_id_total" | bc -l)"
echo "ratio errata/hand-written, no request id: $(echo "scale=3; $errata_total / $hand_total" | bc -l)"
