#!/usr/bin/env bash
# Fuzzes the envelope parser (with the event mapping) and the decoders for a bounded time each.
# Usage: crates/errata-relay/fuzz/run.sh [SECONDS_PER_TARGET]   (default 60)
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); on a stable toolchain the nightly
# flags cargo-fuzz passes are allowed through RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
export RUSTC_BOOTSTRAP=1
for target in envelope decode; do
    # The working corpus lives under target/ (ignored); the committed seeds start it.
    mkdir -p "target/corpus/$target"
    cp -n seeds/"$target"/* "target/corpus/$target"/
    cargo fuzz run "$target" "target/corpus/$target" -- -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048
done
