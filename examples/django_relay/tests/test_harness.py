"""The Slack stand-in and the recording proxy behave as the relay tests rely on (no relay needed)."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from relay_harness import RecordingProxy, SlackStandIn, _serve, envelope_events, read_body


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_slack_stand_in_answers_like_an_incoming_webhook() -> None:
    # An interval no slow machine can exceed between two posts, so the second is surely early.
    slack = SlackStandIn(min_interval=3600).start()
    try:
        msg = json.dumps({"text": "one"}).encode()
        assert post(slack.url, msg)[::2] == (200, b"ok")
        status, headers, body = post(slack.url, msg)  # sooner than min_interval after the last one
        assert (status, headers["Retry-After"]) == (429, "1")
        assert json.loads(body) == {"retry_after": 1, "ok": False, "error": "rate_limited"}
        assert post(slack.url, b"{}")[::2] == (400, b"invalid_payload")
        assert post(slack.url.rsplit("/", 1)[0] + "/wrong", msg)[::2] == (404, b"no_service")
        assert [m.text for m in slack.snapshot()] == ["one"] and slack.rate_limited == 1
    finally:
        slack.stop()


def test_recording_proxy_forwards_unchanged_and_records_the_encoding() -> None:
    seen: list[tuple[str | None, bytes]] = []

    class Upstream(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            seen.append((self.headers.get("Content-Encoding"), read_body(self)))
            self.send_response(200)
            self.send_header("Content-Length", "8")
            self.end_headers()
            self.wfile.write(b'{"id":1}')

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    _serve(upstream)
    proxy = RecordingProxy(("127.0.0.1", upstream.server_address[1])).start()
    try:
        envelope = b'{"event_id":"ab"}\n{"type":"event"}\n{"event_id":"ab","message":"hi"}\n'
        body = gzip.compress(envelope)
        status, _, answer = post(f"http://127.0.0.1:{proxy.port}/api/1/envelope/", body, {"Content-Encoding": "gzip"})
        assert (status, answer) == (200, b'{"id":1}')
        assert seen == [("gzip", body)]
        [rec] = proxy.snapshot()
        assert rec.headers["content-encoding"] == "gzip" and rec.decoded() == envelope
        assert [e["message"] for e in envelope_events(rec.decoded())] == ["hi"]
    finally:
        proxy.stop()
        upstream.shutdown()
        upstream.server_close()
