#!/usr/bin/env bash
# Peak memory of the classroom service under a flood of simultaneous logins (Argon2id, 19 MiB
# per hash, standard parameters, release build): N logins at once from one client, for the
# default bound (a slot per core, 3 s of waiting, then AUTH_BUSY) and for a long wait (every
# login admitted in turn). Prints the answers by status and the process's peak RSS (VmHWM).
# Usage: scripts/bench-logins.sh [logins] [sqlite|postgres]   (PROFILE=debug: the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
logins=${1:-150}
backend=${2:-sqlite}
pg_admin=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
port=18190
tmp=$(mktemp -d)
pid=
pg_name="classroom_bench_logins_$$"
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  [ "$backend" = postgres ] && psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $pg_name WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

profile=${PROFILE:-release}
if [ "$profile" = release ]; then cargo build --release -q -p classroom; else cargo build -q -p classroom; fi
bin=${CARGO_TARGET_DIR:-target}/$profile/classroom

# run WAIT_MS [CONCURRENCY]: starts the service, floods it, prints one line, stops it.
run() {
  local wait=$1 slots=${2:-} db
  if [ "$backend" = postgres ]; then
    psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $pg_name WITH (FORCE)" >/dev/null
    psql -q "$pg_admin" -c "CREATE DATABASE $pg_name" >/dev/null
    db="${pg_admin%/*}/$pg_name"
  else
    db="sqlite://$tmp/c-$RANDOM.db"
  fi
  env CLASSROOM_ADDR=127.0.0.1:$port DATABASE_URL="$db" JWT_SECRET=bench-secret-0123456789abcdef \
    CLASSROOM_RATE_ANON=off CLASSROOM_RATE_USER=off CLASSROOM_RATE_BURST=off ERRATA_ALERTS=off \
    CLASSROOM_HASH_WAIT_MS="$wait" ${slots:+CLASSROOM_HASH_CONCURRENCY=$slots} \
    RUST_LOG=off "$bin" >"$tmp/classroom.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  curl -sf -X POST "http://127.0.0.1:$port/v1/auth/signup" -H 'content-type: application/json' \
    -d '{"email":"flood@example.com","password":"flood-password","name":"Flood"}' >/dev/null
  local base
  base=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  local answers
  answers=$(python3 - "$port" "$logins" <<'PY'
import collections, json, sys, threading, time, urllib.error, urllib.request
port, n = int(sys.argv[1]), int(sys.argv[2])
body = json.dumps({"email": "flood@example.com", "password": "flood-password"}).encode()
statuses, lock, go = collections.Counter(), threading.Lock(), threading.Event()
def login():
    go.wait()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/auth/login", data=body,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            code = r.status
    except urllib.error.HTTPError as e:
        code = e.code
    with lock:
        statuses[code] += 1
threads = [threading.Thread(target=login) for _ in range(n)]
for t in threads: t.start()
started = time.monotonic(); go.set()
for t in threads: t.join()
print(" ".join(f"{k}x{v}" for k, v in sorted(statuses.items())), f"in {time.monotonic() - started:.1f}s")
PY
)
  local peak
  peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" || true; pid=
  echo "$backend ($profile), wait ${wait} ms, slots ${slots:-default ($(nproc))}: $logins logins -> $answers; RSS before $((base / 1024)) MiB, peak $((peak / 1024)) MiB"
}

for spec in ${RUNS:-3000 600000 600000:4}; do
  run "${spec%%:*}" "$([ "${spec#*:}" != "$spec" ] && echo "${spec#*:}")"
done
