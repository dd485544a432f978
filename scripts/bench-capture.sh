#!/usr/bin/env bash
# A successful request with and without the capture layer around errata's edge layer and an
# axum router (crates/errata-alert/benches/capture_layer_stack.rs), same binary, same run.
#
# `instructions` mode, independent of the machine's load: valgrind's callgrind counts the
# in-process stack (no hyper, no sockets), each run's total minus that of a run with a single
# request, divided by the count. Prints instructions per request of each and their ratio.
#
# `load` mode (default): the stacks on loopback listeners of one process, one tokio worker
# pinned to the last CPU, wrk pinned to the first (scripts/bench-lib.sh), rounds
# alternating between them. Prints requests/s per round, the ratio of the totals and the
# median of the rounds' ratios; beside them a control, a pass-through layer whose response
# future is as large as the capture layer's (what the size alone costs). Each round also shows
# how busy the server's core was under each stack (its CPU time over the round's): a round in
# which the server was not saturated measured wrk, not the server (when the host runs wrk's
# core slower than the server's, both stacks read the same), so the summary also gives the
# median of the rounds in which it was at least 95% busy on both.
#
# `paired` mode: the two stacks in two processes on the server's core (one tokio worker each),
# each loaded by a wrk of its own on the client's core at the same time, so both run at the
# host's speed of that moment (in alternating rounds, a change of that speed between two
# rounds moves their ratio by up to ±30% on a shared machine). Per round: requests/s and CPU
# time per request of each, and the ratio of requests per second of CPU, with against without
# (at saturation, the ratio of throughputs). Beside it, the same with two processes without
# the capture layer: that ratio, 1 but for the noise, shows how far the method can be trusted.
#
# Needs valgrind (instructions) or wrk (load, paired).
# Usage: scripts/bench-capture.sh instructions [requests]
#        scripts/bench-capture.sh [load] [seconds per round] [rounds]   (e.g. load 1 20)
#        scripts/bench-capture.sh paired [seconds per round] [rounds]   (e.g. paired 2 15)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
mode=load
case "${1:-}" in instructions | load | paired) mode=$1; shift ;; esac
# CAPTURE_BENCH=path runs a bench binary built elsewhere (of another commit, to compare), unbuilt.
if [ -n "${CAPTURE_BENCH:-}" ]; then
  bin=$CAPTURE_BENCH
else
  cargo bench -q -p errata-alert --bench capture_layer_stack --no-run 2>/dev/null
  bin=$(ls -t target/release/deps/capture_layer_stack-* | grep -v '\.d$' | head -1)
fi

if [ "$mode" = instructions ]; then
  n=${1:-20000}
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # Counts the instructions of `$1` (with or without) sending `$2` requests.
  count() {
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$bin" "$1" "$2" >/dev/null 2>&1
    awk '/^summary:/ {print $2}' "$tmp/out"
  }
  per_request() { echo $(( ($(count "$1" "$n") - $(count "$1" 1)) / (n - 1) )); }
  with=$(per_request with); without=$(per_request without)
  echo "per successful request, edge layer only:            $without"
  echo "per successful request, edge layer + capture layer: $with (+$((with - without)); without/with: $(echo "scale=4; $without / $with" | bc -l)×)"
  exit 0
fi

if [ "$mode" = paired ]; then
  secs=${1:-2}
  rounds=${2:-15}
  tmp=$(mktemp -d)
  servers=()
  trap 'kill "${servers[@]}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
  # Starts `$1` (with or without) on `$2`.
  start() {
    "${on_server_core[@]}" "$bin" serve-one "$1" "$2" >/dev/null 2>&1 &
    servers+=($!)
    for _ in $(seq 50); do curl -s -o /dev/null "http://$2/users/1" && break; sleep 0.1; done
  }
  start with 127.0.0.1:3994; with=${servers[-1]}
  start without 127.0.0.1:3995; without=${servers[-1]}
  start without 127.0.0.1:3996; again=${servers[-1]}
  ratios=(); controls=()
  for r in $(seq "$rounds"); do
    read -r w wo cw cwo busy ratio < <(load_pair http://127.0.0.1:3994/users/42 "$with" http://127.0.0.1:3995/users/42 "$without" "$secs" "$tmp")
    read -r _ _ ca cb busy_aa control < <(load_pair http://127.0.0.1:3996/users/42 "$again" http://127.0.0.1:3995/users/42 "$without" "$secs" "$tmp")
    printf 'round %s: with the capture layer %s req/s, %s ns CPU per request; without %s req/s, %s ns; per CPU second with/without %.3f (core busy %s%%); without/without %.3f (%s vs %s ns, busy %s%%)\n' \
      "$r" "$w" "$cw" "$wo" "$cwo" "$ratio" "$busy" "$control" "$ca" "$cb" "$busy_aa"
    ratios+=("$ratio"); controls+=("$control")
  done
  echo "requests per CPU second, with/without the capture layer: median $(median "${ratios[@]}") of $rounds rounds"
  echo "the same, without/without (the method's noise): median $(median "${controls[@]}")"
  exit 0
fi

secs=${1:-1}
rounds=${2:-20}
with_addr=127.0.0.1:3994
without_addr=127.0.0.1:3995
padded_addr=127.0.0.1:3996
"${on_server_core[@]}" "$bin" serve "$with_addr" "$without_addr" "$padded_addr" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://$without_addr/users/1" && break; sleep 0.1; done
# requests/s of wrk on `$1`, and the server's busy share (%) meanwhile: its CPU time over the
# wall time of the wrk run.
rps() {
  local t0 w0 r
  t0=$(process_cpu "$server"); w0=$(date +%s%N)
  r=$("${on_client_core[@]}" wrk -t1 -c32 -d"${secs}s" "http://$1/users/42" | awk '/Requests\/sec/ {print $2}')
  echo "$r $(( ($(process_cpu "$server") - t0) * 100000 / ($(date +%s%N) - w0) ))"
}
with_total=0; without_total=0; padded_total=0; ratios=(); padded_ratios=(); saturated=()
for r in $(seq "$rounds"); do
  read -r w wb < <(rps "$with_addr"); read -r wo wob < <(rps "$without_addr"); read -r p _ < <(rps "$padded_addr")
  echo "round $r: with the capture layer ${w} req/s, without ${wo} req/s, control ${p} req/s (with/without: $(echo "scale=3; $w / $wo" | bc -l); server busy ${wb}% / ${wob}%)"
  with_total=$(echo "$with_total + $w" | bc -l); without_total=$(echo "$without_total + $wo" | bc -l)
  padded_total=$(echo "$padded_total + $p" | bc -l)
  ratios+=("$(echo "$w / $wo" | bc -l)"); padded_ratios+=("$(echo "$p / $wo" | bc -l)")
  if [ "$wb" -ge 95 ] && [ "$wob" -ge 95 ]; then saturated+=("$(echo "$w / $wo" | bc -l)"); fi
done
echo "ratio with/without the capture layer: $(echo "scale=3; $with_total / $without_total" | bc -l); median of the rounds' ratios: $(median "${ratios[@]}")"
if [ "${#saturated[@]}" -gt 0 ]; then
  echo "rounds with the server at least 95% busy on both: ${#saturated[@]} of $rounds; median of their ratios: $(median "${saturated[@]}")"
else
  echo "rounds with the server at least 95% busy on both: 0 of $rounds (these rounds measured wrk)"
fi
echo "ratio control/without (a future as large, nothing done): $(echo "scale=3; $padded_total / $without_total" | bc -l); median: $(median "${padded_ratios[@]}")"
