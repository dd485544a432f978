#!/usr/bin/env bash
# Runs schemathesis against the running classroom service's /openapi.json, which the routes
# themselves declare (parameters, request bodies, success schemas, every error code): no 5xx, no
# response that breaks the documented schema (success and error bodies alike), status codes and
# content types as documented, and no route answering a code it did not declare (the service
# logs one, in debug builds, as "answered a code it does not declare").
# Usage: examples/classroom/tests/external/schemathesis.sh [max examples per operation]
# CLASSROOM_PORT and KAKAO_PORT choose the loopback ports (18080 and 18081).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../../.." && pwd)
cd "$root"
examples=${1:-40}
port=${CLASSROOM_PORT:-18080}
kakao_port=${KAKAO_PORT:-18081}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

# A local stand-in for Kakao's channel API, answering like the real one for a linked user.
python3 - "$kakao_port" >"$tmp/kakao.log" 2>&1 <<'PY' &
import http.server, json, sys
class Kakao(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"user_id": 1, "channels": [{"channel_uuid": "@classroom", "channel_public_id": "_xcLas", "relation": "ADDED"}]}).encode()
        self.send_response(200); self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Kakao).serve_forever()
PY
pids+=($!)

cargo build -q -p classroom
CLASSROOM_ADDR=127.0.0.1:$port DATABASE_URL="sqlite://$tmp/classroom.db" \
  JWT_SECRET=schemathesis-only-secret-0123456789 KAKAO_API_BASE=http://127.0.0.1:$kakao_port \
  KAKAO_TIMEOUT_MS=2000 CLASSROOM_RATE_ANON=off CLASSROOM_RATE_USER=off CLASSROOM_RATE_BURST=off \
  RUST_LOG=warn target/debug/classroom >"$tmp/classroom.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done

# An instructor's token, so that authenticated operations get past authentication.
token=$(curl -sf -X POST "http://127.0.0.1:$port/v1/auth/signup" -H 'content-type: application/json' \
  -d '{"email":"fuzz@example.com","password":"fuzz-password-1","name":"Fuzz","role":"instructor"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])')

# The document itself is valid OpenAPI (unique operation ids, well-formed parameters).
curl -sf "http://127.0.0.1:$port/openapi.json" -o "$tmp/openapi.json"
python3 -m openapi_spec_validator "$tmp/openapi.json"

status=0
schemathesis run "http://127.0.0.1:$port/openapi.json" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  -H "Authorization: Bearer $token" -H "X-Kakao-Token: kakao-test-token" \
  --max-examples "$examples" --seed 7 --no-color --request-timeout 10 || status=$?
if grep -q "answered a code it does not declare" "$tmp/classroom.log"; then
  echo "--- routes answered codes they do not declare:"
  grep "answered a code it does not declare" "$tmp/classroom.log" | sort | uniq -c | head -n 40
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "--- classroom log (last 40 lines)"; tail -n 40 "$tmp/classroom.log"
fi
exit "$status"
