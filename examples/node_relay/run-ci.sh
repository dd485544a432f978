#!/usr/bin/env bash
# CI: the real @sentry/node SDK against `errata relay`.
#   bash examples/node_relay/run-ci.sh target/debug/errata
# Installs the SDK from package-lock.json (npm ci) and pytest, builds nothing, exits non-zero when
# a test fails.
set -euo pipefail
errata=$(realpath "${1:?usage: run-ci.sh path/to/errata}")
[ -x "$errata" ] || { echo "not an executable: $errata" >&2; exit 2; }
cd "$(dirname "$0")"
npm ci --silent --no-audit --no-fund >/dev/null
python3 -m pip install -q --disable-pip-version-check "pytest>=8,<9" "brotli>=1.1,<2" 2>&1 \
  | grep -vi "running pip as the 'root' user" || true
ERRATA="$errata" python3 -m pytest -q -p no:cacheprovider -rs tests
