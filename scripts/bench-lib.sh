# Shared by the load scripts (sourced, not run).

# The middle of the numbers given, to three decimals. Of the per-round ratios of alternating
# rounds, it is the figure that a round hit by a change of the host's clock speed while one
# side ran (outliers of ±30% on a shared machine) moves least.
median() {
  printf '%s\n' "$@" | sort -g |
    awk '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f\n", m}'
}

# A process's CPU time so far, in µs (user + system, from /proc).
process_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f\n", ($14 + $15) * 1000000 / hz}' "/proc/$1/stat"
}

# Command prefixes that keep a server and its load generator off each other's core:
# `"${on_server_core[@]}" CMD …` runs CMD with one tokio worker on the last CPU, and
# `"${on_client_core[@]}" CMD …` runs CMD on the first. Unpinned on two cores, wrk and a server
# with a worker per core take each other's core, and ratios moved by ±6% from run to run.
# BENCH_PIN=0 runs both as they are (a server then has a worker per core).
if [ "${BENCH_PIN:-1}" != 0 ]; then
  on_server_core=(env TOKIO_WORKER_THREADS=1 taskset -c "$(( $(nproc) - 1 ))")
  on_client_core=(taskset -c 0)
else
  on_server_core=(env)
  on_client_core=(env)
fi

# Loads two servers at once, each with a wrk of its own (`-t1 -c32`, on the client's core) for
# `$5` seconds: URL `$1` of the process `$2` and URL `$3` of the process `$4`; `$6` is a
# temporary directory. Prints each one's requests/s and ns of CPU per request, the two servers'
# busy share of the wall time (%), and the ratio of requests per CPU second, first against
# second: at the host's speed of one moment, which alternating rounds cannot hold still.
load_pair() {
  local ta tb w0 wall na nb ca cb wa wb
  ta=$(process_cpu "$2"); tb=$(process_cpu "$4"); w0=$(date +%s%N)
  "${on_client_core[@]}" wrk -t1 -c32 -d"${5}s" "$1" >"$6/pair-a" & wa=$!
  "${on_client_core[@]}" wrk -t1 -c32 -d"${5}s" "$3" >"$6/pair-b" & wb=$!
  wait "$wa" "$wb"
  wall=$(( ($(date +%s%N) - w0) / 1000 ))
  ca=$(( $(process_cpu "$2") - ta )); cb=$(( $(process_cpu "$4") - tb ))
  na=$(awk '/requests in/ {print $1}' "$6/pair-a"); nb=$(awk '/requests in/ {print $1}' "$6/pair-b")
  echo "$(( na / $5 )) $(( nb / $5 )) $(( ca * 1000 / na )) $(( cb * 1000 / nb )) $(( (ca + cb) * 100 / wall )) $(echo "($na / $ca) / ($nb / $cb)" | bc -l)"
}
