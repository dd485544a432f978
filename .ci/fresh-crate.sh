#!/usr/bin/env bash
# A new user's first hour, from the README alone: install the `errata` command as the README
# says, create a crate outside the workspace whose Cargo.toml is the README's install block,
# run `errata init`, put the README's service in src/main.rs and run its test.
# The README cannot drift from what works.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
readme="$root/README.md"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TERM_COLOR=never

# The fenced block right after the line `<!-- TAG ... -->` of the README.
block() {
  awk -v tag="<!-- $1" '
    index($0, tag) == 1 { armed = 1; next }
    armed && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }
  ' "$readme"
}
for tag in install:cargo-toml install:patch install:main-rs; do
  [ -n "$(block "$tag")" ] || { echo "README.md has no block after <!-- $tag"; exit 1; }
done

# `cargo install --path crates/errata-cli`, from the checkout (debug: CI builds it anyway).
install_line=$(grep -m1 -o 'cargo install --path crates/errata-cli' "$readme") ||
  { echo "README.md lost its cargo install line"; exit 1; }
(cd "$root" && $install_line --debug --locked --quiet --root "$work/tools")
export PATH="$work/tools/bin:$PATH"

mkdir -p "$work/shop/src"
cd "$work/shop"
{
  printf '[package]\nname = "shop"\nversion = "0.1.0"\nedition = "2021"\n\n'
  block install:cargo-toml
  echo
  block install:patch | sed "s#\"\.\./errata/#\"$root/#"
} > Cargo.toml
# The checkout's lock pins the same versions the workspace is tested with (and lets the build
# reuse its artifacts); cargo drops what the crate does not use.
cp "$root/Cargo.lock" Cargo.lock
block install:main-rs > src/main.rs

errata init --name shop
errata check
cargo test --quiet 2>&1 | tail -n 20
echo "fresh crate from the README: ok"
