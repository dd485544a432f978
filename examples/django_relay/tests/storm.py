"""A storm through the Django app, in a process of its own (one Sentry SDK per process):

    python tests/storm.py --dsn DSN --kakao N --dropped D --crash M [--no-brotli]

Starts a fake Kakao on loopback that refuses every account (`-501 NotKakaoTalkUser`, as Kakao
answers a user not linked to Kakao Talk) and dropping the connection of friends requests, sends
N `POST /v1/auth/kakao/link`, D `GET /v1/auth/kakao/friends` and M
`GET /v1/lectures/{id}/average` through Django's test client with a planted `Authorization`
header, session cookie and `password` field, flushes the SDK and prints one JSON line: what was
sent, the SDK's transport encoding, and how many outgoing events carried the planted secrets.

`--no-brotli` hides the `brotli` module before the SDK is imported: the SDK then falls back to
gzip, as it does on a machine without it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

AUTHORIZATION = "Bearer kakaoAT-PLANTEDauthz7f3a9e1c"
COOKIE = "PLANTEDsessioncookie5d2e8b4a"
PASSWORD = "PLANTEDpassw0rd9c1b77d0"
SECRETS = [AUTHORIZATION.removeprefix("Bearer "), COOKIE, PASSWORD]


class FakeKakao(BaseHTTPRequestHandler):
    """Kakao's `GET /v1/api/talk/profile` for a user not linked to Kakao Talk; `GET
    /v1/api/talk/friends` dropping the connection."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/v1/api/talk/friends"):
            # Kakao under load: the connection closes before any answer.
            self.close_connection = True
            return
        body = json.dumps({"msg": "NotKakaoTalkUser", "code": -501}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--kakao", type=int, default=150)
    ap.add_argument("--crash", type=int, default=40)
    ap.add_argument("--dropped", type=int, default=30)
    ap.add_argument("--no-brotli", action="store_true")
    args = ap.parse_args()

    if args.no_brotli:
        sys.modules["brotli"] = None  # type: ignore[assignment]  # `import brotli` now fails

    kakao = ThreadingHTTPServer(("127.0.0.1", 0), FakeKakao)
    threading.Thread(target=kakao.serve_forever, daemon=True).start()
    os.environ["KAKAO_API_BASE"] = f"http://127.0.0.1:{kakao.server_address[1]}"
    os.environ["SENTRY_DSN"] = args.dsn
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relaydemo.settings")

    import django

    django.setup()

    import sentry_sdk
    from django.test import Client

    carrying = {"events": 0, "with_secret": 0}
    client_opts = sentry_sdk.get_client().options
    previous = client_opts.get("before_send")

    def count_secrets(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        carrying["events"] += 1
        if any(s in json.dumps(event, default=str) for s in SECRETS):
            carrying["with_secret"] += 1
        return previous(event, hint) if previous else event

    client_opts["before_send"] = count_secrets

    web = Client(raise_request_exception=False, HTTP_AUTHORIZATION=AUTHORIZATION)
    web.cookies["sessionid"] = COOKIE
    statuses: dict[str, int] = {}
    for _ in range(args.kakao):
        r = web.post("/v1/auth/kakao/link", {"password": PASSWORD, "remember": True}, content_type="application/json")
        statuses[f"link {r.status_code}"] = statuses.get(f"link {r.status_code}", 0) + 1
    for _ in range(args.dropped):
        r = web.get("/v1/auth/kakao/friends")
        statuses[f"friends {r.status_code}"] = statuses.get(f"friends {r.status_code}", 0) + 1
    for i in range(args.crash):
        r = web.get(f"/v1/lectures/{i % 7 + 1}/average", {"password": PASSWORD})
        statuses[f"average {r.status_code}"] = statuses.get(f"average {r.status_code}", 0) + 1

    transport = sentry_sdk.get_client().transport
    encoding = getattr(transport, "_compression_algo", None)
    sentry_sdk.flush(timeout=120)
    kakao.shutdown()
    print(json.dumps({"statuses": statuses, "encoding": encoding, **carrying}), flush=True)


if __name__ == "__main__":
    main()
