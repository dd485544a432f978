"""A storm from a real Django + DRF service, through the real Python Sentry SDK, into the real
`errata relay`: one Slack message per problem, exact counts in `errata stats`, no planted secret
in Slack, the store or the relay's logs; with brotli (the SDK's choice when `brotli` is
importable) and with gzip (its fallback without it) on a SQLite store, and with brotli on a
PostgreSQL store. Then the SDK against the relay's quota: it backs off on the 429.

Needs `ERRATA` (the path of the `errata` binary); see `run-ci.sh`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent
sys.path.insert(0, str(EXAMPLE))

from relay_harness import (  # noqa: E402
    WAIT,
    RecordingProxy,
    Relay,
    SlackStandIn,
    counts_by_code,
    envelope_events,
    leaked,
    postgres_available,
    postgres_bytes,
    postgres_database,
    relay_counters,
    stats,
    store_bytes,
    wait_for,
)
from storm import SECRETS  # noqa: E402

ERRATA = os.environ.get("ERRATA", "")
PROJECT_ID = 42
PUBLIC_KEY = "3f1c0a9be2d54b7e8c6a1d2e4f5a6b7c"
KAKAO_CODE = "KAKAO_ACCOUNT_NOT_AVAILABLE"
# Above the catalog's spike threshold (100 in 5 min): one alert, not 150.
KAKAO_EVENTS = 150
CRASH_EVENTS = 40
# `http.client.RemoteDisconnected`, mapped by relay.toml's [exceptions] to a catalog code (503).
DROPPED_CODE = "KAKAO_UNAVAILABLE"
DROPPED_EVENTS = 30
CRASH_ROUTE = "/v1/lectures/{lecture_id}/average"
# Not in the catalog: the relay derives the code from the exception type.
CRASH_CODE = "ZERO_DIVISION_ERROR"

pytestmark = pytest.mark.skipif(not ERRATA, reason="set ERRATA to the path of the errata binary")


def alerts_pending(store: str) -> list[object]:
    """`errata alerts list --which pending` as JSON."""
    out = subprocess.run(
        [ERRATA, "alerts", "list", "--store", store, "--which", "pending", "--format", "json"],
        capture_output=True,
        check=True,
        timeout=WAIT,
    )
    items: list[object] = json.loads(out.stdout)
    return items


@pytest.mark.parametrize(
    ("encoding", "backend"),
    [
        ("br", "sqlite"),
        ("gzip", "sqlite"),
        pytest.param(
            "br",
            "postgres",
            marks=pytest.mark.skipif(not postgres_available(), reason="no PostgreSQL server answers"),
        ),
    ],
)
def test_storm_gives_one_alert_per_problem_exact_counts_and_no_secret(
    tmp_path: Path, encoding: str, backend: str
) -> None:
    with contextlib.ExitStack() as stack:
        if backend == "postgres":
            store = stack.enter_context(postgres_database())
            read_store: Callable[[], bytes] = functools.partial(postgres_bytes, store)
        else:
            path = tmp_path / "relay.sqlite3"
            store = str(path)
            read_store = functools.partial(store_bytes, path)
        run_storm_and_check(tmp_path, encoding, store, read_store)


def run_storm_and_check(tmp_path: Path, encoding: str, store: str, read_store: Callable[[], bytes]) -> None:
    """Runs the storm against a relay on `store` and checks everything it left."""
    slack = SlackStandIn().start()
    relay = Relay(
        ERRATA,
        tmp_path,
        {
            "ERRATA_RELAY_PROJECTS": f"{PROJECT_ID}:{PUBLIC_KEY}",
            "ERRATA_RELAY_CATALOG": str(EXAMPLE / "errors.toml"),
            "ERRATA_RELAY_CONFIG": str(EXAMPLE / "relay.toml"),
            "ERRATA_SLACK_WEBHOOK_URL": slack.url,
            "ERRATA_STORE": store,
            "ERRATA_SERVICE": "relaydemo",
        },
    )
    proxy: RecordingProxy | None = None
    try:
        relay.start()
        assert relay.addr is not None
        proxy = RecordingProxy(relay.addr).start()
        dsn = f"http://{PUBLIC_KEY}@127.0.0.1:{proxy.port}/{PROJECT_ID}"
        cmd = [sys.executable, str(HERE / "storm.py"), "--dsn", dsn]
        cmd += ["--kakao", str(KAKAO_EVENTS), "--dropped", str(DROPPED_EVENTS), "--crash", str(CRASH_EVENTS)]
        if encoding == "gzip":
            cmd.append("--no-brotli")
        run = subprocess.run(cmd, capture_output=True, cwd=EXAMPLE, timeout=WAIT * 3, check=False)
        assert run.returncode == 0, run.stderr.decode(errors="replace")
        storm = json.loads(run.stdout.decode().strip().splitlines()[-1])

        # The service answered as it should, and its SDK sent every event, secrets included.
        expected = {"link 400": KAKAO_EVENTS, "friends 500": DROPPED_EVENTS, "average 500": CRASH_EVENTS}
        assert storm["statuses"] == expected, storm
        assert storm["encoding"] == encoding
        total = KAKAO_EVENTS + DROPPED_EVENTS + CRASH_EVENTS
        problems = {KAKAO_CODE: KAKAO_EVENTS, DROPPED_CODE: DROPPED_EVENTS, CRASH_CODE: CRASH_EVENTS}
        assert storm["events"] == total and storm["with_secret"] == total, storm

        # What reached the relay: every envelope in the expected encoding, every one accepted.
        sent = proxy.snapshot()
        assert sent, "the SDK sent nothing"
        assert {r.headers.get("content-encoding", "") for r in sent} == {encoding}
        assert [r.status for r in sent if r.status != 200] == []
        events = [e for r in sent for e in envelope_events(r.decoded())]
        assert len(events) == total
        for r in sent:
            assert json.loads(r.response)["id"] in {e["event_id"] for e in envelope_events(r.decoded())}
        assert leaked(SECRETS, {"the SDK's envelopes": b"".join(r.decoded() for r in sent)}), (
            "the planted secrets never reached the relay: the test would prove nothing"
        )

        # One Slack message per problem.
        def every_problem() -> bool:
            msgs = slack.snapshot()
            return {m.code for m in msgs} >= set(problems)

        wait_for("a Slack message for each problem", every_problem)

        # Exact counts in `errata stats`, while the relay runs (it writes them every few seconds).
        def exact_counts() -> dict[str, int] | None:
            c = counts_by_code(stats(ERRATA, store))
            return c if sum(c.values()) == total else None

        counts = wait_for("errata stats to count the storm", exact_counts)
        assert counts == problems, counts
        routes = {row["route"] for row in stats(ERRATA, store)["rows"] if row["code"] == CRASH_CODE}
        assert routes == {CRASH_ROUTE}, routes

        running = slack.snapshot()
        assert sorted(m.code for m in running) == sorted(problems), [m.text for m in running]
        assert {m.code: m.marker for m in running} == {KAKAO_CODE: "🟠", DROPPED_CODE: "🔴", CRASH_CODE: "🔴"}
        assert {m.code: m.text.split(" ")[2] for m in running}[DROPPED_CODE] == "(503)"

        # SIGTERM flushes (one node) or leaves the rest in the shared store (a PostgreSQL store:
        # fleet mode, where a replica or the next start notifies it when due); a restart with a
        # short group_interval delivers whatever the spool and the store still hold.
        assert relay.stop() == 0, relay.logs()
        relay.env["ERRATA_GROUP_INTERVAL"] = "1s"
        relay.start()

        def all_told() -> bool:
            msgs = slack.snapshot()
            return alerts_pending(store) == [] and all(
                sum(m.count for m in msgs if m.code == code) >= n for code, n in problems.items()
            )

        wait_for("the spool and the store to be delivered", all_told)
        assert relay.stop() == 0, relay.logs()

        # Still one first notice per problem; anything later is a digest of the same problem, and
        # the counts the messages report add up to what was sent, on either store.
        msgs = slack.snapshot()
        firsts = [m.code for m in msgs if m.marker != "🔁"]
        assert sorted(firsts) == sorted(problems), [m.text for m in msgs]
        for code, n in problems.items():
            told = sum(m.count for m in msgs if m.code == code)
            assert told == n, [m.text for m in msgs if m.code == code]
        assert slack.invalid == 0
        assert counts_by_code(stats(ERRATA, store)) == counts

        # Nothing secret anywhere the relay writes (the store's bytes do hold the storm's data).
        store_data = read_store()
        assert KAKAO_CODE.encode() in store_data and CRASH_ROUTE.encode() in store_data
        assert (
            leaked(
                SECRETS,
                {
                    "Slack": b"\n".join(m.raw for m in msgs),
                    "the store": store_data,
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


def test_the_sdk_backs_off_when_the_relay_answers_over_quota(tmp_path: Path) -> None:
    """With a quota of 50 events an hour, the relay accepts 50, answers the next with 429,
    `Retry-After` and `X-Sentry-Rate-Limits`, and the real SDK then stops sending (it drops the
    rest itself instead of retrying into the limit): exactly 50 events counted."""
    quota = 50
    slack = SlackStandIn().start()
    store = tmp_path / "relay.sqlite3"
    relay = Relay(
        ERRATA,
        tmp_path,
        {
            "ERRATA_RELAY_PROJECTS": f"{PROJECT_ID}:{PUBLIC_KEY}",
            "ERRATA_RELAY_CATALOG": str(EXAMPLE / "errors.toml"),
            "ERRATA_RELAY_CONFIG": str(EXAMPLE / "relay.toml"),
            "ERRATA_RELAY_QUOTA": f"{quota}/h",
            "ERRATA_SLACK_WEBHOOK_URL": slack.url,
            "ERRATA_STORE": str(store),
        },
    )
    proxy: RecordingProxy | None = None
    try:
        relay.start()
        assert relay.addr is not None
        proxy = RecordingProxy(relay.addr).start()
        dsn = f"http://{PUBLIC_KEY}@127.0.0.1:{proxy.port}/{PROJECT_ID}"
        cmd = [sys.executable, str(HERE / "storm.py"), "--dsn", dsn, "--kakao", "150", "--dropped", "0", "--crash", "0"]
        run = subprocess.run(cmd, capture_output=True, cwd=EXAMPLE, timeout=WAIT * 3, check=False)
        assert run.returncode == 0, run.stderr.decode(errors="replace")

        with_events = [r for r in proxy.snapshot() if list(envelope_events(r.decoded()))]
        accepted = [r for r in with_events if r.status == 200]
        limited = [r for r in with_events if r.status == 429]
        assert len(accepted) == quota, [r.status for r in with_events]
        # One refusal, and nothing after it: the SDK honoured the limit.
        assert len(limited) == 1 and with_events[-1] is limited[0], [r.status for r in with_events]
        answer = limited[0].response_headers
        assert int(answer["retry-after"]) > 0, answer
        assert answer["x-sentry-rate-limits"].endswith(":project:quota_exceeded"), answer
        assert relay_counters(relay.addr)["over_quota"] == 1

        def exact() -> dict[str, int] | None:
            c = counts_by_code(stats(ERRATA, str(store)))
            return c if c == {KAKAO_CODE: quota} else None

        wait_for("errata stats to count the accepted events", exact)
        assert relay.stop() == 0, relay.logs()
    finally:
        relay.stop()
        if proxy is not None:
            proxy.stop()
        slack.stop()
