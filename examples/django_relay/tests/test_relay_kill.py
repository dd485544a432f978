"""`errata relay` killed with SIGKILL during a storm, then restarted: no alert lost, no event
uncounted.

The relay answers 200 only after the event is in errata-alert's pipeline; on a PostgreSQL store
(fleet mode) a new group's events are written to the store at once and counts every second
(`ERRATA_FLUSH_INTERVAL`), so what a SIGKILL can lose is bounded by that interval. The test waits
until the store holds every answered event (the documented bound), kills the relay inside
`group_wait` (before any alert could go out), restarts it, and expects exactly one Slack message
per problem carrying the whole count.

Needs `ERRATA` (the path of the `errata` binary) and the local PostgreSQL; see `run-ci.sh`.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent
sys.path.insert(0, str(EXAMPLE))

from relay_harness import (  # noqa: E402
    WAIT,
    Relay,
    SlackStandIn,
    counts_by_code,
    postgres_available,
    postgres_database,
    stats,
    wait_for,
)

ERRATA = os.environ.get("ERRATA", "")
PROJECT_ID = 7
PUBLIC_KEY = "0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a"
EVENTS = 60
CODE = "KAKAO_UNAVAILABLE"

pytestmark = [
    pytest.mark.skipif(not ERRATA, reason="set ERRATA to the path of the errata binary"),
    pytest.mark.skipif(not postgres_available(), reason="no PostgreSQL server answers"),
]


def send_event(addr: tuple[str, int], n: int) -> None:
    """One envelope with one event, as an SDK sends it (uncompressed), answered 200."""
    event_id = uuid.uuid4().hex
    event = {
        "event_id": event_id,
        "level": "error",
        "platform": "python",
        "transaction": "/v1/user/kakao-friends",
        "tags": {"error_code": CODE, "storm_index": str(n)},
        "exception": {"values": [{"type": "KakaoUnavailableError", "module": "kakao.errors", "value": "Kakao 503"}]},
    }
    body = (
        json.dumps({"event_id": event_id, "dsn": f"http://{PUBLIC_KEY}@{addr[0]}:{addr[1]}/{PROJECT_ID}"})
        + "\n"
        + json.dumps({"type": "event"})
        + "\n"
        + json.dumps(event)
        + "\n"
    ).encode()
    req = urllib.request.Request(
        f"http://{addr[0]}:{addr[1]}/api/{PROJECT_ID}/envelope/",
        data=body,
        headers={
            "Content-Type": "application/x-sentry-envelope",
            "X-Sentry-Auth": f"Sentry sentry_version=7, sentry_client=kill-test/1, sentry_key={PUBLIC_KEY}",
        },
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=WAIT) as r:
        assert r.status == 200
        assert json.load(r)["id"] == event_id


def test_a_relay_killed_during_a_storm_loses_no_alert_and_no_count(tmp_path: Path) -> None:
    slack = SlackStandIn().start()
    with postgres_database("relaykill") as store:
        relay = Relay(
            ERRATA,
            tmp_path,
            {
                "ERRATA_RELAY_PROJECTS": f"{PROJECT_ID}:{PUBLIC_KEY}",
                "ERRATA_RELAY_CATALOG": str(EXAMPLE / "errors.toml"),
                "ERRATA_SLACK_WEBHOOK_URL": slack.url,
                "ERRATA_STORE": store,
                "ERRATA_CONSOLE": "off",
                # Long enough that the kill always falls inside it, whatever the machine's load.
                "ERRATA_GROUP_WAIT": "20s",
                "ERRATA_FLUSH_INTERVAL": "1s",
            },
        )
        try:
            relay.start()
            assert relay.addr is not None
            for n in range(EVENTS):
                send_event(relay.addr, n)

            # Within the flush interval the store holds every answered event.
            wait_for(
                "the store to count every answered event",
                lambda: counts_by_code(stats(ERRATA, store)).get(CODE) == EVENTS,
            )
            assert slack.snapshot() == [], "killed before group_wait: nothing may have been sent yet"
            assert relay.proc is not None
            relay.proc.kill()
            relay.proc.wait(timeout=WAIT)

            relay.start()
            messages = wait_for(
                "the alert after the restart",
                lambda: [m for m in slack.snapshot() if m.code == CODE] or None,
                timeout=WAIT * 2,
            )
            assert len(messages) == 1, [m.text for m in messages]
            assert messages[0].count == EVENTS, messages[0].text
            assert relay.stop() == 0
            # Counted once: nothing added, nothing lost, by the kill and the restart.
            assert counts_by_code(stats(ERRATA, store)).get(CODE) == EVENTS
            assert [m for m in slack.snapshot() if m.code == CODE] == messages
        finally:
            if relay.proc is not None and relay.proc.poll() is None:
                relay.proc.kill()
            slack.stop()
