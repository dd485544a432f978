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
# A development build (debug assertions, overflow checks and the address sanitizer on), with
# the crates a run spends its time in optimized (Cargo.toml's `[profile.dev.package]`): the
# relay's dependency tree builds in 227 s against 474 s for a release build with 16 codegen
# units, and runs about 8 times fewer inputs per second (962 and 130 against 8,527 and 1,032
# for envelope and decode) — a bounded smoke run, where the build is the larger cost.
flags=(--dev)
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
