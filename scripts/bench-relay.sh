#!/usr/bin/env bash
# errata relay under load as it is deployed: the `errata` binary (release) running `errata relay`
# in a process of its own, with a SQLite store and no sink but the store, and wrk
# (scripts/relay-wrk.lua) replaying Sentry envelopes over keep-alive connections: the typical
# Django exception event (~13 KB, alternately br and gzip) and a ~56 KB one (gzip), from
# `connections` connections in a closed loop; then an overload: ten times the connections
# against a relay that reads at most `connections` requests at once (ERRATA_RELAY_MAX_IN_FLIGHT).
# Beyond that it answers 429 before reading the body, but only requests whose bodies are still
# arriving hold a slot: a body that has arrived is read and decoded in one poll, so with a
# closed-loop client the excess waits in the sockets and the figure to read is memory, which
# must not grow. wrk and the relay are not pinned: the relay decodes on both cores.
#
# Each scenario starts a fresh relay and store. Printed per scenario: events/s accepted (200),
# p50/p99 latency, 429s (and how many carried Retry-After and X-Sentry-Rate-Limits), other
# statuses and socket errors, the relay's peak RSS (VmHWM) and CPU time per accepted event
# (user + system, from /proc), and after a graceful stop the events
# the store counted (`errata stats`): lost = accepted − counted (the count can be higher than
# what wrk saw accepted by the requests still in flight when wrk stopped, at most one per
# connection).
# Needs wrk. Usage: scripts/bench-relay.sh [seconds per scenario] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
secs=${1:-10}
connections=${2:-32}
addr=127.0.0.1:3993
cargo build --release -q -p errata-cli
cargo build --release -q -p errata-relay --example relay_bodies
tmp=$(mktemp -d)
relay=
trap '[ -z "$relay" ] || kill "$relay" 2>/dev/null || true; rm -rf "$tmp"' EXIT
target/release/examples/relay_bodies "$tmp/bodies"

# Runs one scenario: `$1` name, `$2` kind (typical or large), `$3` connections, `$4` the
# relay's max in flight.
scenario() {
  local store="$tmp/$1.sqlite3"
  ERRATA_RELAY_ADDR=$addr ERRATA_RELAY_PROJECTS=1:loadkey ERRATA_STORE=$store ERRATA_CONSOLE=off \
    ERRATA_RELAY_MAX_IN_FLIGHT=$4 RUST_LOG=warn target/release/errata relay 2>"$tmp/$1.log" &
  relay=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://$addr/" && break; sleep 0.1; done
  local cpu_before out cpu_after
  cpu_before=$(process_cpu "$relay")
  out=$(RELAY_BODIES="$tmp/bodies" RELAY_KIND=$2 wrk -t1 -c"$3" -d"${secs}s" --timeout 10s \
    -s scripts/relay-wrk.lua "http://$addr/" | awk '/^RESULT/')
  cpu_after=$(process_cpu "$relay")
  local rss
  rss=$(awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$relay/status")
  kill -TERM "$relay"; wait "$relay" || true; relay=
  local counted
  counted=$(target/release/errata stats --store "$store" --from -1h --format json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["total"])')
  python3 - "$1" "$3" "$4" "$rss" "$counted" "$((cpu_after - cpu_before))" "$out" <<'PY'
import sys
name, conns, in_flight, rss, counted, cpu_us, out = sys.argv[1:]
r = dict(kv.split("=") for kv in out.split()[1:])
ok = int(r["ok"]); secs = float(r["duration_s"])
print(f"| {name} | {conns} connections, max in flight {in_flight} | {ok / secs:,.0f} | {r['p50_ms']} | {r['p99_ms']} "
      f"| {int(r['shed']):,} ({int(r['shed_with_headers']):,}) | {r['other']} | {r['socket_errors']} | {rss} MiB | {int(cpu_us) / max(ok, 1):.1f} µs | {int(counted):,} | {max(0, ok - int(counted)):,} |")
PY
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| scenario | load | accepted events/s | p50 ms | p99 ms | 429 (with both headers) | other statuses | socket errors | relay peak RSS | relay CPU per event | counted | lost |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
scenario typical typical "$connections" 256
scenario large large "$connections" 256
scenario overload typical $((connections * 10)) "$connections"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
