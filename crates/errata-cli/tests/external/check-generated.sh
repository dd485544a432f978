#!/usr/bin/env bash
# Checks what `errata` generates with the real tools, on the classroom catalog:
#   - TypeScript: compiles under `tsc --strict` (and stricter flags), has no `any`, and a test
#     program compiled with it parses known, unknown, problem, flat and garbage bodies (node);
#   - Kotlin: compiles with `kotlinc -Werror`, and a test program parses the same bodies (java);
#   - both languages also compile the code generated from tricky.toml (names that clash with
#     the generated types, keywords as parameters, comment terminators, `$`, quotes);
#   - both parse what a real server sends: a running classroom server's 429 (nested and problem
#     envelopes, typed `retry_after` from the body's parameters), and every body of the
#     conformance corpora of the classroom catalog and of seed 004's (flat, the number as `code`,
#     `codeNumber`, parameters under `args`);
#   - Python: the module generated for DRF passes `mypy --strict` and `ruff check` (classroom,
#     seed 004 and tricky.toml);
#   - OpenAPI: every envelope's document passes openapi-spec-validator, and every example
#     matches the schema its response references (jsonschema);
#   - HTML docs: the page's search box filters entries in headless Chromium (when installed).
#
# Usage: check-generated.sh PATH/TO/errata [PATH/TO/classroom]
# Needs: node, tsc (TSC, default .ci/tools/node_modules/.bin/tsc, installed with
# `npm install --prefix .ci/tools typescript@5`), kotlinc and java, python3 with
# openapi-spec-validator, mypy (with django-stubs, djangorestframework-stubs), ruff, and the classroom
# binary (default target/debug/classroom); optionally chromium (CHROMIUM). Exits non-zero on the
# first failure.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 PATH/TO/errata [PATH/TO/classroom]" >&2
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
SEED004="$ROOT/examples/drf_classroom/tests/seed004.toml"
CLASSROOM=${2:-$ROOT/target/debug/classroom}
TSC=${TSC:-$ROOT/.ci/tools/node_modules/.bin/tsc}
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

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

# ── What a real server sends ─────────────────────────────────────────────────────────────────
[ -x "$CLASSROOM" ] || fail "no classroom binary at $CLASSROOM (build it with: cargo build -p classroom)"
"$ERRATA" conformance "$CATALOG" -o "$WORK/corpus-classroom.json" || fail "errata conformance (classroom)"
"$ERRATA" conformance "$SEED004" -o "$WORK/corpus-seed004.json" || fail "errata conformance (seed 004)"
port=$((20000 + RANDOM % 20000))
CLASSROOM_ADDR=127.0.0.1:$port DATABASE_URL="sqlite://$WORK/classroom.db" \
    JWT_SECRET=wire-test-only-secret-0123456789 KAKAO_API_BASE=http://127.0.0.1:9 \
    CLASSROOM_RATE_ANON=2/min CLASSROOM_RATE_USER=off CLASSROOM_RATE_BURST=off RUST_LOG=warn \
    "$CLASSROOM" >"$WORK/classroom.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 150); do
    curl -s -o /dev/null "http://127.0.0.1:$port/health" && break
    sleep 0.2
done
for i in 1 2; do curl -s -o /dev/null "http://127.0.0.1:$port/v1/lectures"; done
curl -s -D "$WORK/nested.h" -o "$WORK/nested.json" "http://127.0.0.1:$port/v1/lectures" -H 'accept-language: en'
curl -s -D "$WORK/problem.h" -o "$WORK/problem.json" "http://127.0.0.1:$port/v1/lectures" \
    -H 'accept: application/problem+json'
kill "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
python3 - "$WORK" <<'PY' || fail "the classroom server did not answer 429 with Retry-After (log: $WORK/classroom.log)"
import json, sys
work = sys.argv[1]
out = {}
for key in ("nested", "problem"):
    head = open(f"{work}/{key}.h", encoding="utf-8").read().lower().splitlines()
    assert head[0].split()[1] == "429", head[0]
    retry = [h.split(":", 1)[1].strip() for h in head if h.startswith("retry-after:")]
    out[key] = {"retry_after": retry[0], "body": json.load(open(f"{work}/{key}.json", encoding="utf-8"))}
json.dump(out, open(f"{work}/server.json", "w"))
PY
ok "a running classroom server answered 429 in the nested and problem envelopes; corpora of classroom and seed 004 written"

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
"$ERRATA" codegen "$SEED004" --lang ts -o "$WORK/ts/seed004.ts" || fail "errata codegen --lang ts (seed 004)"
cp "$HERE/wire_test.ts" "$WORK/ts/wire_test.ts"
"$TSC" --strict --noUncheckedIndexedAccess --exactOptionalPropertyTypes --target es2019 --module commonjs \
    --outDir "$WORK/ts/wire" "$WORK/ts/errors.ts" "$WORK/ts/seed004.ts" "$WORK/ts/wire_test.ts" \
    || fail "tsc on wire_test.ts"
node "$WORK/ts/wire/wire_test.js" "$WORK/server.json" "$WORK/corpus-classroom.json" "$WORK/corpus-seed004.json" \
    || fail "node wire_test.js"
ok "TypeScript clients read the server's typed parameters, every corpus body, and seed 004's numbers"

# ── Kotlin ───────────────────────────────────────────────────────────────────────────────────
mkdir -p "$WORK/kt"
"$ERRATA" codegen "$CATALOG" --lang kotlin --package errata.check -o "$WORK/kt/Errors.kt" \
    || fail "errata codegen --lang kotlin"
"$ERRATA" codegen "$SEED004" --lang kotlin --package errata.seed004 -o "$WORK/kt/Seed004.kt" \
    || fail "errata codegen --lang kotlin (seed 004)"
cp "$HERE/ParseTest.kt" "$HERE/WireTest.kt" "$WORK/kt/"
# One compilation for both catalogs and both tests (kotlinc is slow).
kotlinc -Werror "$WORK/kt/Errors.kt" "$WORK/kt/Seed004.kt" "$WORK/kt/ParseTest.kt" "$WORK/kt/WireTest.kt" \
    -include-runtime -d "$WORK/kt/parse-test.jar" \
    2> >(grep -v 'Options -Xverify:none and -noverify were deprecated' >&2) \
    || fail "kotlinc Errors.kt Seed004.kt ParseTest.kt WireTest.kt"
ok "Errors.kt compiles with kotlinc -Werror"
"$ERRATA" codegen "$HERE/tricky.toml" --lang kotlin -o "$WORK/kt/Tricky.kt" || fail "errata codegen --lang kotlin (tricky.toml)"
kotlinc -Werror "$WORK/kt/Tricky.kt" -d "$WORK/kt/tricky" \
    2> >(grep -v 'Options -Xverify:none and -noverify were deprecated' >&2) \
    || fail "kotlinc -Werror on the code generated from tricky.toml"
ok "code generated from tricky.toml compiles with kotlinc -Werror"
java -cp "$WORK/kt/parse-test.jar" ParseTestKt || fail "java ParseTestKt"
ok "Kotlin parser test passes"
java -cp "$WORK/kt/parse-test.jar" errata.wire.WireTestKt "$WORK/server.json" "$WORK/corpus-classroom.json" \
    "$WORK/corpus-seed004.json" || fail "java errata.wire.WireTestKt"
ok "Kotlin clients read the server's typed parameters, every corpus body, and seed 004's numbers"

# ── Python (DRF) ─────────────────────────────────────────────────────────────────────────────
mkdir -p "$WORK/py"
for name in classroom seed004 tricky; do
    case $name in
        classroom) src=$CATALOG ;;
        seed004) src=$SEED004 ;;
        tricky) src=$HERE/tricky.toml ;;
    esac
    "$ERRATA" codegen "$src" --lang python -o "$WORK/py/errors_$name.py" || fail "errata codegen --lang python ($name)"
done
(cd "$WORK/py" && python3 -m mypy --strict --no-incremental errors_classroom.py errors_seed004.py errors_tricky.py) \
    || fail "mypy --strict on the generated Python"
ok "generated Python passes mypy --strict ($(python3 -m mypy --version))"
(cd "$WORK/py" && ruff check --isolated --select E,F,W,I,UP,B errors_classroom.py errors_seed004.py errors_tricky.py) \
    || fail "ruff check on the generated Python"
ok "generated Python passes ruff check ($(ruff --version))"

# ── OpenAPI ──────────────────────────────────────────────────────────────────────────────────
for envelope in nested problem flat; do
    doc="$WORK/openapi-$envelope.json"
    "$ERRATA" openapi "$CATALOG" --envelope "$envelope" -o "$doc" || fail "errata openapi --envelope $envelope"
    python3 -m openapi_spec_validator "$doc" >/dev/null || fail "openapi-spec-validator on --envelope $envelope"
    ok "openapi --envelope $envelope is a valid OpenAPI 3.1 document"
    summary=$(python3 "$HERE/check_examples.py" "$doc") || fail "examples of --envelope $envelope"
    ok "openapi --envelope $envelope: $summary"
    # Seed 004's catalog: number and parameter members, the number as the flat `code`.
    doc="$WORK/openapi-seed004-$envelope.json"
    "$ERRATA" openapi "$SEED004" --envelope "$envelope" -o "$doc" || fail "errata openapi (seed 004) --envelope $envelope"
    python3 -m openapi_spec_validator "$doc" >/dev/null || fail "openapi-spec-validator on seed 004 --envelope $envelope"
    summary=$(python3 "$HERE/check_examples.py" "$doc") || fail "examples of seed 004 --envelope $envelope"
    ok "openapi (seed 004: codeNumber, args, number as code) --envelope $envelope: $summary"
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
