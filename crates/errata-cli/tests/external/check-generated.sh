#!/usr/bin/env bash
# Checks what `errata` generates with the real tools, on the classroom catalog:
#   - TypeScript: compiles under `tsc --strict` (and stricter flags), has no `any`, and a test
#     program compiled with it parses known, unknown, problem, flat and garbage bodies (node);
#   - Kotlin: compiles with `kotlinc -Werror`, and a test program parses the same bodies (java);
#   - both languages also compile the code generated from tricky.toml (names that clash with
#     the generated types, keywords as parameters, comment terminators, `$`, quotes);
#   - OpenAPI: every envelope's document passes openapi-spec-validator, and every example
#     matches the schema its response references (jsonschema);
#   - HTML docs: the page's search box filters entries in headless Chromium (when installed).
#
# Usage: check-generated.sh PATH/TO/errata
# Needs: node, tsc (TSC, default .ci/tools/node_modules/.bin/tsc, installed with
# `npm install --prefix .ci/tools typescript@5`), kotlinc and java, python3 with
# openapi-spec-validator; optionally chromium (CHROMIUM). Exits non-zero on the first failure.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 PATH/TO/errata" >&2
    exit 2
fi
ERRATA=$1
case "$ERRATA" in
    /*) ;;
    *) ERRATA="$PWD/$ERRATA" ;;
esac
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)
CATALOG="$ROOT/examples/classroom/errors.toml"
HERE="$ROOT/crates/errata-cli/tests/external"
TSC=${TSC:-$ROOT/.ci/tools/node_modules/.bin/tsc}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

passed=0
ok() {
    passed=$((passed + 1))
    echo "ok: $*"
}
fail() {
    echo "FAILED: $*" >&2
    echo "check-generated: $passed passed, 1 failed"
    exit 1
}
need() {
    command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed ($2)"
}

[ -x "$ERRATA" ] || fail "no errata binary at $ERRATA (build it with: cargo build -p errata-cli)"
[ -x "$TSC" ] || fail "no tsc at $TSC (install it with: npm install --prefix .ci/tools typescript@5, or set TSC)"
need node "Debian package nodejs"
need kotlinc "Debian package kotlin"
need java "Debian package default-jdk-headless"
need python3 "Debian package python3"
python3 -c 'import openapi_spec_validator, jsonschema, referencing' 2>/dev/null \
    || fail "python3 cannot import openapi_spec_validator (pip install openapi-spec-validator)"

# ── TypeScript ───────────────────────────────────────────────────────────────────────────────
mkdir -p "$WORK/ts"
"$ERRATA" codegen "$CATALOG" --lang ts -o "$WORK/ts/errors.ts" || fail "errata codegen --lang ts"
"$TSC" --strict --noEmit "$WORK/ts/errors.ts" || fail "tsc --strict (default target) on errors.ts"
ok "errors.ts compiles with tsc --strict ($("$TSC" --version))"
"$TSC" --strict --noEmit --target es2022 --noUncheckedIndexedAccess --exactOptionalPropertyTypes \
    --noUnusedLocals --noUnusedParameters --noImplicitReturns --noFallthroughCasesInSwitch \
    --noPropertyAccessFromIndexSignature "$WORK/ts/errors.ts" \
    || fail "tsc with the stricter flags on errors.ts"
ok "errors.ts compiles with noUncheckedIndexedAccess, exactOptionalPropertyTypes, noUnused*"
if grep -nE '\bany\b' "$WORK/ts/errors.ts" | grep -vE '^[0-9]+:[[:space:]]*(//|/\*|\*)'; then
    fail "errors.ts uses \`any\` (lines above)"
fi
ok "errors.ts has no \`any\` outside comments"
"$ERRATA" codegen "$HERE/tricky.toml" --lang ts -o "$WORK/ts/tricky.ts" || fail "errata codegen --lang ts (tricky.toml)"
"$TSC" --strict --noEmit --noUncheckedIndexedAccess --exactOptionalPropertyTypes --noUnusedLocals \
    "$WORK/ts/tricky.ts" || fail "tsc --strict on the code generated from tricky.toml"
ok "code generated from tricky.toml (clashing names, keywords, comment terminators) compiles with tsc"
cp "$HERE/parse_test.ts" "$WORK/ts/parse_test.ts"
"$TSC" --strict --target es2019 --module commonjs --outDir "$WORK/ts/out" \
    "$WORK/ts/errors.ts" "$WORK/ts/parse_test.ts" || fail "tsc on parse_test.ts"
node "$WORK/ts/out/parse_test.js" || fail "node parse_test.js"
ok "TypeScript parser test passes under node $(node --version)"

# ── Kotlin ───────────────────────────────────────────────────────────────────────────────────
mkdir -p "$WORK/kt"
"$ERRATA" codegen "$CATALOG" --lang kotlin --package errata.check -o "$WORK/kt/Errors.kt" \
    || fail "errata codegen --lang kotlin"
cp "$HERE/ParseTest.kt" "$WORK/kt/ParseTest.kt"
kotlinc -Werror "$WORK/kt/Errors.kt" "$WORK/kt/ParseTest.kt" -include-runtime -d "$WORK/kt/parse-test.jar" \
    2> >(grep -v 'Options -Xverify:none and -noverify were deprecated' >&2) \
    || fail "kotlinc Errors.kt ParseTest.kt"
ok "Errors.kt compiles with kotlinc -Werror"
"$ERRATA" codegen "$HERE/tricky.toml" --lang kotlin -o "$WORK/kt/Tricky.kt" || fail "errata codegen --lang kotlin (tricky.toml)"
kotlinc -Werror "$WORK/kt/Tricky.kt" -d "$WORK/kt/tricky" \
    2> >(grep -v 'Options -Xverify:none and -noverify were deprecated' >&2) \
    || fail "kotlinc -Werror on the code generated from tricky.toml"
ok "code generated from tricky.toml compiles with kotlinc -Werror"
java -jar "$WORK/kt/parse-test.jar" || fail "java -jar parse-test.jar"
ok "Kotlin parser test passes"

# ── OpenAPI ──────────────────────────────────────────────────────────────────────────────────
for envelope in nested problem flat; do
    doc="$WORK/openapi-$envelope.json"
    "$ERRATA" openapi "$CATALOG" --envelope "$envelope" -o "$doc" || fail "errata openapi --envelope $envelope"
    python3 -m openapi_spec_validator "$doc" >/dev/null || fail "openapi-spec-validator on --envelope $envelope"
    ok "openapi --envelope $envelope is a valid OpenAPI 3.1 document"
    summary=$(python3 "$HERE/check_examples.py" "$doc") || fail "examples of --envelope $envelope"
    ok "openapi --envelope $envelope: $summary"
done

# ── HTML docs ────────────────────────────────────────────────────────────────────────────────
"$ERRATA" docs "$CATALOG" --format html -o "$WORK/errors.html" || fail "errata docs --format html"
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -n "$CHROMIUM" ]; then
    summary=$(python3 "$HERE/check_search.py" "$CHROMIUM" "$WORK/errors.html") || fail "search box of the HTML docs"
    ok "docs --format html in $("$CHROMIUM" --version 2>/dev/null | head -1): $summary"
else
    echo "SKIPPED: the HTML search check needs Chromium (Debian package chromium, or set CHROMIUM)"
fi

echo "check-generated: $passed passed, 0 failed"
