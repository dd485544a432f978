#!/usr/bin/env bash
# Fuzzes the relay's envelope parser (with the event mapping) and its decoders, a bounded time
# each; exits non-zero when either target crashes (the input is kept under artifacts/TARGET/).
# Usage: bash crates/errata-relay/fuzz/run.sh [SECONDS_PER_TARGET]   (default 60)
# Needs cargo-fuzz (`cargo install --locked cargo-fuzz`). On a stable toolchain the nightly flags
# cargo-fuzz passes to rustc are let through by RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
export RUSTC_BOOTSTRAP=1
targets=(envelope decode)
# 16 codegen units instead of cargo-fuzz's 1: the build (the relay's whole dependency tree)
# takes a fraction of the time, the fuzzing runs a little slower.
flags=(--codegen-units 16)
cargo fuzz build "${flags[@]}"   # every target, one build
failed=()
for target in "${targets[@]}"; do
    # New inputs go to the working corpus under target/ (ignored); the committed seeds are read.
    mkdir -p "target/corpus/$target"
    if ! cargo fuzz run "${flags[@]}" "$target" "target/corpus/$target" "seeds/$target" -- \
        -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1; then
        failed+=("$target")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crash in ${failed[*]} (inputs in $PWD/artifacts/)" >&2
    exit 1
fi
echo "fuzz: ${targets[*]}: no crash in ${secs} s each"
