#!/usr/bin/env bash
# CI: the Django example against `errata relay`, with the real Python Sentry SDK.
#   bash examples/django_relay/run-ci.sh target/debug/errata
# Installs the SDK and brotli (Django and DRF come from .ci/run), builds nothing, exits non-zero
# when a test fails.
set -euo pipefail
errata=$(realpath "${1:?usage: run-ci.sh path/to/errata}")
[ -x "$errata" ] || { echo "not an executable: $errata" >&2; exit 2; }
cd "$(dirname "$0")"
python3 -m pip install -q --disable-pip-version-check "Django>=5.1,<6" "djangorestframework>=3.15,<4" \
  "sentry-sdk>=2.18,<3" "brotli>=1.1,<2" "pytest>=8,<9" 2>&1 | grep -vi "running pip as the 'root' user" || true
ERRATA="$errata" python3 -m pytest -q -p no:cacheprovider -rs tests
