#!/usr/bin/env bash
# Rate limits on loopback: the same route with the limiter's windows in the process and in Redis,
# same binary, same run, alternating rounds. Prints requests/s per round, the ratio, and the
# Redis round trips per request (the commands clients sent, counted by `INFO commandstats` around
# the Redis rounds, divided by wrk's request count). The store coalesces the checks pending at
# the same moment into one `EVALSHA`, so under load this is well below 1.
# Needs wrk, redis-server and redis-cli: the script starts a Redis of its own on a spare port, so
# that no other client's commands are counted.
# Usage: scripts/bench-ratelimit.sh [seconds per round] [rounds] [redis port]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${2:-3}
redis_port=${3:-6391}
redis_url="redis://127.0.0.1:$redis_port/"
addr=127.0.0.1:3998
cargo build --release -q -p errata-axum --features redis --example ratelimit_bench
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
redis=$!
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
target/release/examples/ratelimit_bench "$addr" "$redis_url" 2>/tmp/ratelimit_bench.$$.log &
server=$!
trap 'kill $server $redis 2>/dev/null' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://$addr/local/r" && break; sleep 0.1; done
curl -s -o /dev/null "http://$addr/redis/r"

# Commands sent by clients: EVALSHA/EVAL/SCRIPT and INFO, one round trip each (INFO commandstats
# also counts the commands a script runs inside Redis, TIME, HMGET, HSET, PEXPIRE: those are no
# round trips). One EVALSHA answers every check of a batch.
redis_calls() {
  redis-cli -p "$redis_port" INFO commandstats \
    | awk -F'[=,:]' '/^cmdstat_(evalsha|eval|script|info)/ {sum += $3} END {print sum}'
}
# wrk's requests/s and request count.
run() { wrk -t1 -c32 -d"${secs}s" "http://$addr$1" | awk '/requests in/ {n=$1} /Requests\/sec/ {r=$2} END {print r, n}'; }

local_total=0; redis_total=0; redis_requests=0; redis_commands=0
for r in $(seq "$rounds"); do
  read -r l _ < <(run /local/r)
  before=$(redis_calls)
  read -r s n < <(run /redis/r)
  after=$(redis_calls)
  # The two INFO calls themselves are commands too.
  commands=$((after - before - 1))
  echo "round $r: local ${l} req/s, redis ${s} req/s ($n requests, $commands Redis round trips)"
  local_total=$(echo "$local_total + $l" | bc -l); redis_total=$(echo "$redis_total + $s" | bc -l)
  redis_requests=$((redis_requests + n)); redis_commands=$((redis_commands + commands))
done
echo "ratio redis/local: $(echo "scale=3; $redis_total / $local_total" | bc -l)"
echo "Redis round trips per request: $(echo "scale=4; $redis_commands / $redis_requests" | bc -l)"
grep -h "fallbacks" /tmp/ratelimit_bench.$$.log | tail -1 || echo "fallbacks to the local store: 0"
rm -f /tmp/ratelimit_bench.$$.log
