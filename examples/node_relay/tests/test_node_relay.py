"""The real `@sentry/node` SDK (npm) against the real `errata relay`: handled errors tagged with
their errata code, one event above 32 KiB (the SDK gzips it and streams it chunked) and an
uncaught exception reported by the SDK's own handler; all accepted, all counted, one Slack
message per problem, and no planted secret in Slack, the store or the relay's logs.

Needs `ERRATA` (the path of the `errata` binary) and `npm ci` done here; see `run-ci.sh`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent
sys.path.insert(0, str(EXAMPLE.parent / "django_relay"))

from relay_harness import (  # noqa: E402
    WAIT,
    RecordingProxy,
    Relay,
    SlackStandIn,
    counts_by_code,
    envelope_events,
    leaked,
    stats,
    store_bytes,
    wait_for,
)

ERRATA = os.environ.get("ERRATA", "")
PROJECT_ID = 7
PUBLIC_KEY = "9a8b7c6d5e4f40312a1b2c3d4e5f6a7b"
KAKAO_CODE = "KAKAO_ACCOUNT_NOT_AVAILABLE"
HANDLED = 20
SECRETS = ["nodeAT-PLANTEDauthz41d9c2", "PLANTEDnodepw8e3f"]
GZIP_THRESHOLD = 32 * 1024

pytestmark = pytest.mark.skipif(not ERRATA, reason="set ERRATA to the path of the errata binary")


def node(mode: list[str], dsn: str) -> subprocess.CompletedProcess[bytes]:
    """Runs `send.mjs` with the DSN."""
    env = dict(os.environ, SENTRY_DSN=dsn)
    return subprocess.run(["node", "send.mjs", *mode], capture_output=True, cwd=EXAMPLE, env=env, timeout=WAIT)


def test_node_sdk_events_are_accepted_counted_alerted_and_scrubbed(tmp_path: Path) -> None:
    slack = SlackStandIn().start()
    store = tmp_path / "relay.sqlite3"
    relay = Relay(
        ERRATA,
        tmp_path,
        {
            "ERRATA_RELAY_PROJECTS": f"{PROJECT_ID}:{PUBLIC_KEY}",
            "ERRATA_RELAY_CATALOG": str(EXAMPLE.parent / "django_relay" / "errors.toml"),
            "ERRATA_SLACK_WEBHOOK_URL": slack.url,
            "ERRATA_STORE": str(store),
            "ERRATA_SERVICE": "relaydemo-node",
        },
    )
    proxy: RecordingProxy | None = None
    try:
        relay.start()
        assert relay.addr is not None
        proxy = RecordingProxy(relay.addr).start()
        dsn = f"http://{PUBLIC_KEY}@127.0.0.1:{proxy.port}/{PROJECT_ID}"

        handled = node(["handled", str(HANDLED)], dsn)
        assert handled.returncode == 0, handled.stderr.decode(errors="replace")
        ids = json.loads(handled.stdout.decode().strip().splitlines()[-1])["sent"]
        assert len(ids) == HANDLED + 1
        uncaught = node(["uncaught"], dsn)
        # The SDK's handler exits 1 after reporting, as Node does for an uncaught exception.
        assert uncaught.returncode == 1, uncaught.stderr.decode(errors="replace")
        assert b"Cannot read properties of undefined" in uncaught.stderr

        # Every request accepted; the one large event gzipped and chunked, the rest plain.
        sent = proxy.snapshot()
        assert [(r.status, r.response) for r in sent if r.status != 200] == []
        with_events = [(r, list(envelope_events(r.decoded()))) for r in sent]
        events = [e for _, evs in with_events for e in evs]
        assert len(events) == HANDLED + 2
        for r, evs in with_events:
            big = len(r.decoded()) > GZIP_THRESHOLD
            assert r.headers.get("content-encoding", "") == ("gzip" if big else ""), r.headers
            if evs:
                assert json.loads(r.response)["id"] == evs[0]["event_id"]
        assert sum(1 for r in sent if r.headers.get("content-encoding") == "gzip") == 1
        assert any(r.chunked for r in sent)
        uncaught_events = [e for e in events if e["exception"]["values"][-1]["mechanism"]["handled"] is False]
        assert len(uncaught_events) == 1
        assert leaked(SECRETS, {"envelopes": b"".join(r.decoded() for r in sent)}), "no secret reached the relay"

        def exact_counts() -> dict[str, int] | None:
            c = counts_by_code(stats(ERRATA, str(store)))
            return c if sum(c.values()) == HANDLED + 2 else None

        counts = wait_for("errata stats to count every event", exact_counts)
        assert counts[KAKAO_CODE] == HANDLED, counts
        # Codes derived from the exception types (not in the catalog).
        others = {"GRADEBOOK_SYNC_ERROR": 1, "TYPE_ERROR": 1}
        assert counts == {KAKAO_CODE: HANDLED, **others}, counts

        # The two 5xx-style problems alert (the Kakao account errors stay under their spike rule).
        wait_for("a Slack message per unexpected problem", lambda: {m.code for m in slack.snapshot()} >= set(others))
        assert relay.stop() == 0, relay.logs()
        msgs = slack.snapshot()
        assert sorted(m.code for m in msgs) == sorted(others), [m.text for m in msgs]
        assert (
            leaked(
                SECRETS,
                {
                    "Slack": b"\n".join(m.raw for m in msgs),
                    "the store": store_bytes(store),
                    "the relay's logs": relay.logs().encode(),
                },
            )
            == []
        )
    finally:
        relay.stop()
        if proxy is not None:
            proxy.stop()
        slack.stop()
