#!/usr/bin/env bash
# Rate limits on loopback: the same route with the limiter's windows in the process and in Redis,
# same binary, same run.
#
# Default mode, wall clock: wrk alternates rounds on the two routes. Prints requests/s per round,
# the ratio, the Redis round trips per request (the commands clients sent, counted by
# `INFO commandstats` around the Redis rounds, divided by wrk's request count), the CPU time per
# request of the service process (from /proc, per route) and of redis-server (`INFO cpu`, Redis
# rounds), and the load average before and after. The store coalesces the checks pending at the
# same moment into one `EVALSHA`, so under load round trips per request are well below 1.
# The service runs one tokio worker pinned to the last CPU, wrk and redis-server on the first
# (as a replica whose Redis is elsewhere; scripts/bench-lib.sh, BENCH_PIN=0 unpinned); with
# many short rounds (e.g. `1 20`) the median of the rounds'
# ratios is the figure a change of the host's clock speed moves least.
#
# `instructions` mode, independent of the machine's load: the service under valgrind's
# callgrind, `connections` keep-alive connections sending requests in waves (one request on
# each, then every answer), once with `small` and once with `large` requests per route; the
# difference of the totals divided by the difference in requests is the cost of one request,
# without start-up. Prints instructions per request for each route, and for the Redis route the
# script calls and redis-server's instructions per request (it runs under callgrind too). The
# batches are those this slowed-down setting makes: see the script calls per request.
#
# `profile` mode, where the difference goes: wrk on each route in turn (pinned as above) while
# `perf record -e cpu-clock` samples the service for `seconds`; prints, per request, the
# service's time in the symbols (user space and kernel) that cost the Redis route most more,
# and less, than the local one. Sampled time, not instructions: read it beside a wrk run.
#
# `paired` mode, at the host's speed of one moment: two services on the service's core, each
# loaded by a wrk of its own at the same time (the local route of one, the Redis route of the
# other); per round, requests/s and CPU time per request of each, and the ratio of requests
# per second of CPU (at saturation, of throughputs), Redis against local. Beside it, both on
# the local route: that ratio, 1 but for the noise, shows how far the method can be trusted.
# In alternating rounds, a change of the host's speed between two rounds moves their ratio.
#
# Needs wrk (default, paired and profile modes), perf (profile mode) or valgrind (instructions mode),
# redis-server and redis-cli: the script starts a Redis of its own on a spare port, so that no
# other client's commands count.
# Usage (any mode may be preceded by RATELIMIT_REDIS_SOCKET=1):
#        scripts/bench-ratelimit.sh [seconds per round] [rounds] [redis port]
#        scripts/bench-ratelimit.sh instructions [small] [large] [connections] [redis port]
#        scripts/bench-ratelimit.sh profile [seconds] [redis port]
#        scripts/bench-ratelimit.sh paired [seconds per round] [rounds] [redis port]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
mode=wrk
if [ "${1:-}" = instructions ]; then
  mode=instructions
  shift
  small=${1:-500}
  large=${2:-3000}
  connections=${3:-32}
  redis_port=${4:-6391}
elif [ "${1:-}" = paired ]; then
  mode=paired
  shift
  secs=${1:-2}
  rounds=${2:-15}
  redis_port=${3:-6391}
elif [ "${1:-}" = profile ]; then
  mode=profile
  shift
  secs=${1:-3}
  redis_port=${2:-6391}
else
  secs=${1:-5}
  rounds=${2:-3}
  redis_port=${3:-6391}
fi
redis_url="redis://127.0.0.1:$redis_port/"
# RATELIMIT_ADDR: where the server listens (127.0.0.1:3998).
addr=${RATELIMIT_ADDR:-127.0.0.1:3998}
# RATELIMIT_BENCH=path runs a server built elsewhere (of another commit, to compare), unbuilt.
bench=${RATELIMIT_BENCH:-target/release/examples/ratelimit_bench}
if [ -z "${RATELIMIT_BENCH:-}" ]; then
  cargo build --release -q -p errata-axum --features redis --example ratelimit_bench
fi
tmp=$(mktemp -d)
redis_cmd=(redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no)
# RATELIMIT_REDIS_SOCKET=1: the services reach Redis over a Unix socket instead of TCP on
# loopback (whose sender's core runs the receiver's network stack too, which a Redis on another
# host would not charge it); redis-cli keeps TCP.
if [ "${RATELIMIT_REDIS_SOCKET:-0}" = 1 ]; then
  redis_cmd+=(--unixsocket "$tmp/redis.sock" --unixsocketperm 700)
  redis_url="redis+unix://$tmp/redis.sock"
fi
if [ "$mode" = instructions ]; then
  # Redis under callgrind too: its counts are zeroed before and dumped after each run's requests.
  valgrind --tool=callgrind --callgrind-out-file="$tmp/redis.%p" "${redis_cmd[@]}" >/dev/null 2>&1 &
else
  # Redis beside wrk: the service (below) has its core to itself, as a replica whose Redis runs
  # elsewhere.
  "${on_client_core[@]}" "${redis_cmd[@]}" >/dev/null &
fi
redis=$!
server=
second=
trap 'kill $server $second $redis 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 300); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

# Commands sent by clients: EVALSHA/EVAL/SCRIPT and INFO, one round trip each (INFO commandstats
# also counts the commands a script runs inside Redis: those are no round trips). One EVALSHA
# answers every check of a batch.
redis_calls() {
  redis-cli -p "$redis_port" INFO commandstats \
    | awk -F'[=,:]' '/^cmdstat_(evalsha|eval|script|info)/ {sum += $3} END {print sum}'
}
# redis-server's CPU time so far, in µs (user + system).
redis_cpu() {
  redis-cli -p "$redis_port" INFO cpu \
    | awk -F: '/^used_cpu_(user|sys):/ {sum += $2} END {printf "%.0f\n", sum * 1000000}'
}
ratio() { echo "scale=${3:-3}; $1 / $2" | bc -l; }

if [ "$mode" = instructions ]; then
  # Sends `$2` requests to `$1` over `$connections` connections, in waves.
  send() {
    python3 - "$addr" "$2" "$1" "$connections" <<'PY'
import http.client, sys, time
host, port = sys.argv[1].split(":"); n = int(sys.argv[2]); path = sys.argv[3]; width = int(sys.argv[4])
for _ in range(300):
    try:
        c = http.client.HTTPConnection(host, int(port)); c.request("GET", "/local/r"); c.getresponse().read(); break
    except OSError: time.sleep(0.2)
conns = [http.client.HTTPConnection(host, int(port)) for _ in range(width)]
sent = 0
while sent < n:
    wave = conns[:min(width, n - sent)]
    for c in wave: c.request("GET", path)
    for c in wave:
        r = c.getresponse(); r.read()
        if r.status != 200: sys.exit(f"status {r.status}")
    sent += len(wave)
PY
  }
  # Instructions of redis-server from now until `redis_dump` (callgrind_control zeroes and dumps
  # its counts).
  redis_zero() { callgrind_control -z "$redis" >/dev/null 2>&1; }
  redis_dump() {
    rm -f "$tmp/redis.$redis".*
    callgrind_control -d "$redis" >/dev/null 2>&1
    awk '/^(summary|totals):/ {print $2; exit}' "$(ls -t "$tmp/redis.$redis".* | head -1)"
  }
  # Total instructions of a server under callgrind that answers `$2` requests on `$1` (after one
  # on the Redis route, to connect and load the script); prints them, the script calls, and
  # redis-server's instructions and CPU time in µs during the requests.
  profile() {
    # Under valgrind everything is slow: a long timeout keeps the checks in Redis.
    RATELIMIT_TIMEOUT_MS=20000 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
      "$bench" "$addr" "$redis_url" 2>"$tmp/log" &
    server=$!
    send /redis/r 1
    local calls cpu redis_instructions
    calls=$(redis_calls); cpu=$(redis_cpu); redis_zero
    send "$1" "$2"
    redis_instructions=$(redis_dump)
    calls=$(( $(redis_calls) - calls - 1 )); cpu=$(( $(redis_cpu) - cpu ))
    # callgrind writes its counts when the server exits.
    kill -TERM "$server"; wait "$server" 2>/dev/null || true
    server=
    if grep -q "fallbacks" "$tmp/log"; then
      echo "the local store answered some requests: $(grep fallbacks "$tmp/log" | tail -1)" >&2
    fi
    echo "$(awk '/^summary:/ {print $2}' "$tmp/cg.out") $calls $redis_instructions $cpu"
  }
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (callgrind counts do not depend on it)"
  for route in local redis; do
    read -r a calls_a redis_a cpu_a < <(profile "/$route/r" "$small")
    read -r b calls_b redis_b cpu_b < <(profile "/$route/r" "$large")
    n=$((large - small))
    line="/$route/r: $(( (b - a) / n )) instructions per request"
    if [ "$route" = redis ]; then
      line="$line, $(ratio "$calls_b" "$large" 4) script calls per request;"
      line="$line redis-server $(( (redis_b - redis_a) / n )) instructions"
      line="$line ($(ratio "$((cpu_b - cpu_a))" "$n" 1) µs CPU, under callgrind) per request"
    fi
    echo "$line"
  done
  exit 0
fi

"${on_server_core[@]}" "$bench" "$addr" "$redis_url" 2>"$tmp/log" &
server=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://$addr/local/r" && break; sleep 0.1; done
curl -s -o /dev/null "http://$addr/redis/r"

# wrk's requests/s and request count. One thread, 32 connections: wrk needs about as much CPU as
# the service, and the two (and redis-server) share the machine's cores.
run() { "${on_client_core[@]}" wrk -t1 -c32 -d"${secs}s" "http://$addr$1" | awk '/requests in/ {n=$1} /Requests\/sec/ {r=$2} END {print r, n}'; }

if [ "$mode" = profile ]; then
  # Samples the service while wrk loads route `$1` (from its second second on); the symbols'
  # shares go to `$tmp/$1.txt`, wrk's requests/s to `$tmp/$1.rps`.
  sample() {
    "${on_client_core[@]}" wrk -t1 -c32 -d"$((secs + 2))s" "http://$addr/$1/r" \
      | awk '/Requests\/sec/ {print $2}' >"$tmp/$1.rps" &
    local load=$!
    sleep 1
    perf record -q -e cpu-clock -p "$server" -o "$tmp/$1.data" -- sleep "$secs" >/dev/null 2>&1
    wait "$load"
    perf report -i "$tmp/$1.data" --no-children --sort sym -g none 2>/dev/null \
      | grep -v '^#' | grep -v '^$' >"$tmp/$1.txt"
  }
  sample local
  sample redis
  python3 - "$tmp" <<'PY'
import sys
tmp = sys.argv[1]
def per_request(route):
    # ns per request of each symbol: its share of the samples times the time per request.
    ns = 1e9 / float(open(f"{tmp}/{route}.rps").read())
    out = {}
    for line in open(f"{tmp}/{route}.txt"):
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0].endswith("%"):
            out[parts[2].strip()] = out.get(parts[2].strip(), 0) + float(parts[0][:-1]) / 100 * ns
    return out, ns
local, local_ns = per_request("local")
redis, redis_ns = per_request("redis")
print(f"time per request at full load: local {local_ns:.0f} ns, redis {redis_ns:.0f} ns (+{redis_ns - local_ns:.0f})")
diff = sorted(((redis.get(k, 0) - local.get(k, 0), k) for k in set(local) | set(redis)), reverse=True)
print("the Redis route spends more in:")
for d, k in diff[:15]:
    print(f"  {d:+6.0f} ns  {k[:110]}")
print("and less in:")
for d, k in diff[-5:]:
    print(f"  {d:+6.0f} ns  {k[:110]}")
PY
  exit 0
fi

if [ "$mode" = paired ]; then
  # RATELIMIT_SECOND_ADDR: where the second service listens (127.0.0.1:3999).
  second_addr=${RATELIMIT_SECOND_ADDR:-127.0.0.1:3999}
  "${on_server_core[@]}" "$bench" "$second_addr" "$redis_url" 2>"$tmp/log2" &
  second=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://$second_addr/local/r" && break; sleep 0.1; done
  curl -s -o /dev/null "http://$second_addr/redis/r"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  ratios=(); controls=()
  for r in $(seq "$rounds"); do
    read -r s l cs cl busy paired_ratio < <(load_pair "http://$second_addr/redis/r" "$second" "http://$addr/local/r" "$server" "$secs" "$tmp")
    read -r _ _ c2 c1 busy_aa control < <(load_pair "http://$second_addr/local/r" "$second" "http://$addr/local/r" "$server" "$secs" "$tmp")
    printf 'round %s: local %s req/s, %s ns CPU per request; redis %s req/s, %s ns; per CPU second redis/local %.3f (core busy %s%%); local/local %.3f (%s vs %s ns, busy %s%%)\n' \
      "$r" "$l" "$cl" "$s" "$cs" "$paired_ratio" "$busy" "$control" "$c1" "$c2" "$busy_aa"
    ratios+=("$paired_ratio"); controls+=("$control")
  done
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "requests per CPU second, redis/local: median $(median "${ratios[@]}") of $rounds rounds"
  echo "the same, local/local (the method's noise): median $(median "${controls[@]}")"
  grep -h "fallbacks" "$tmp/log2" | tail -1 || echo "fallbacks to the local store: 0"
  exit 0
fi

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
local_total=0; redis_total=0; redis_requests=0; redis_commands=0; local_requests=0
local_cpu=0; service_cpu=0; redis_server_cpu=0; ratios=()
for r in $(seq "$rounds"); do
  cpu=$(process_cpu "$server")
  read -r l ln < <(run /local/r)
  local_cpu=$((local_cpu + $(process_cpu "$server") - cpu))
  before=$(redis_calls); cpu=$(process_cpu "$server"); rcpu=$(redis_cpu)
  read -r s n < <(run /redis/r)
  service_cpu=$((service_cpu + $(process_cpu "$server") - cpu))
  redis_server_cpu=$((redis_server_cpu + $(redis_cpu) - rcpu))
  after=$(redis_calls)
  # The two INFO calls themselves are commands too.
  commands=$((after - before - 1))
  echo "round $r: local ${l} req/s, redis ${s} req/s ($n requests, $commands Redis round trips)"
  local_total=$(echo "$local_total + $l" | bc -l); redis_total=$(echo "$redis_total + $s" | bc -l)
  local_requests=$((local_requests + ln))
  redis_requests=$((redis_requests + n)); redis_commands=$((redis_commands + commands))
  ratios+=("$(echo "$s / $l" | bc -l)")
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ratio redis/local: $(ratio "$redis_total" "$local_total"); median of the rounds' ratios: $(median "${ratios[@]}")"
echo "Redis round trips per request: $(ratio "$redis_commands" "$redis_requests" 4)"
echo "service CPU per request: local $(ratio "$local_cpu" "$local_requests" 2) µs," \
  "redis $(ratio "$service_cpu" "$redis_requests" 2) µs; redis-server $(ratio "$redis_server_cpu" "$redis_requests" 2) µs"
grep -h "fallbacks" "$tmp/log" | tail -1 || echo "fallbacks to the local store: 0"
