"""What the real-client tests of `errata relay` share: the relay as a subprocess, a Slack stand-in,
a recording proxy in front of the relay, `errata stats`, and a scan for planted secrets.

Everything runs on loopback; nothing is mocked on the relay's side.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Generous: the machine is shared and slow. Nothing asserts on time; these only bound a wait.
WAIT = float(os.environ.get("RELAY_TEST_WAIT_SECS", "120"))


def wait_for(what: str, cond: Callable[[], Any], timeout: float = WAIT, every: float = 0.2) -> Any:
    """Polls `cond` until it returns something truthy; fails with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True


def _serve(server: ThreadingHTTPServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, sized or chunked."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        out = bytearray()
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(out)
            out += handler.rfile.read(size)
            handler.rfile.readline()
    n = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(n) if n else b""


# ── Slack ────────────────────────────────────────────────────────────────────────────────────────


@dataclass
class SlackMessage:
    """One message Slack accepted."""

    raw: bytes
    payload: dict[str, Any]

    @property
    def text(self) -> str:
        """The top-level `text` (the notification fallback)."""
        return str(self.payload.get("text", ""))

    @property
    def marker(self) -> str:
        """🔴 (5xx), 🟠 (4xx) for a first notice, 🔁 for a digest."""
        return self.text.split(" ", 1)[0]

    @property
    def code(self) -> str:
        """The errata code the message is about."""
        m = re.match(r"^\S+ (\S+) \(\d{3}\)", self.text)
        return m.group(1) if m else ""

    @property
    def count(self) -> int:
        """The event count the message reports (`×1,234`)."""
        m = re.search(r"×([\d,]+)", self.text)
        return int(m.group(1).replace(",", "")) if m else 0


@dataclass
class SlackStandIn:
    """A local server that behaves like a Slack incoming webhook: `ok` for a valid payload, 400
    `invalid_payload` otherwise, 404 `no_service` on a wrong path, and about 1 message/s: a post
    sooner than 1 s after the last accepted one (`min_interval`) gets 429 with `Retry-After: 1` and Slack's body."""

    path: str = "/services/T0RELAY/B0RELAY/webhooksecretpart"
    # Slack's pace: about one message per second per channel.
    min_interval: float = 1.0
    messages: list[SlackMessage] = field(default_factory=list)
    rate_limited: int = 0
    invalid: int = 0
    _last_ok: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> SlackStandIn:
        """Listens on a free loopback port."""
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if status != 429 else "application/json")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = read_body(self)
                if self.path != stand_in.path:
                    self.answer(404, b"no_service")
                    return
                try:
                    payload = json.loads(raw)
                    valid = isinstance(payload, dict) and (payload.get("text") or payload.get("blocks"))
                except ValueError:
                    valid = False
                if not valid:
                    with stand_in._lock:
                        stand_in.invalid += 1
                    self.answer(400, b"invalid_payload")
                    return
                with stand_in._lock:
                    now = time.monotonic()
                    if now - stand_in._last_ok < stand_in.min_interval:
                        stand_in.rate_limited += 1
                        limited = True
                    else:
                        stand_in._last_ok = now
                        stand_in.messages.append(SlackMessage(raw, payload))
                        limited = False
                if limited:
                    body = b'{"retry_after":1,"ok":false,"error":"rate_limited"}'
                    self.answer(429, body, {"Retry-After": "1"})
                else:
                    self.answer(200, b"ok")

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        _serve(self.server)
        return self

    @property
    def url(self) -> str:
        """The webhook URL (a secret, as Slack's are)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"

    def snapshot(self) -> list[SlackMessage]:
        """The messages accepted so far."""
        with self._lock:
            return list(self.messages)

    def stop(self) -> None:
        """Stops listening."""
        self.server.shutdown()
        self.server.server_close()


# ── a recording proxy in front of the relay ──────────────────────────────────────────────────────


@dataclass
class Recorded:
    """One request a client sent to the relay, and the relay's answer."""

    path: str
    headers: dict[str, str]
    chunked: bool
    body: bytes
    status: int
    response: bytes
    response_headers: dict[str, str] = field(default_factory=dict)

    def decoded(self) -> bytes:
        """The body without its `Content-Encoding`."""
        enc = self.headers.get("content-encoding", "").lower()
        if enc == "gzip":
            return gzip.decompress(self.body)
        if enc == "deflate":
            return zlib.decompress(self.body)
        if enc == "br":
            import brotli  # type: ignore[import-untyped]

            return bytes(brotli.decompress(self.body))
        return self.body


@dataclass
class RecordingProxy:
    """Forwards every request to the relay unchanged (sized bodies sized, chunked ones chunked)
    and records what the client sent: the proof of which encodings a real SDK used, and that the
    planted secrets did reach the relay (so that their absence afterwards is the relay's doing)."""

    upstream: tuple[str, int]
    requests: list[Recorded] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> RecordingProxy:
        """Listens on a free loopback port."""
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
                body = read_body(self)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "transfer-encoding")}
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=WAIT)
                try:
                    conn.putrequest("POST", self.path, skip_accept_encoding=True)
                    for k, v in headers.items():
                        if k.lower() != "content-length" or not chunked:
                            conn.putheader(k, v)
                    if chunked:
                        conn.putheader("Transfer-Encoding", "chunked")
                        conn.endheaders()
                        conn.send(f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n" if body else b"0\r\n\r\n")
                    else:
                        conn.endheaders(body)
                    resp = conn.getresponse()
                    answer = resp.read()
                    status, resp_headers = resp.status, resp.getheaders()
                except OSError as e:
                    status, answer, resp_headers = 502, f"relay unreachable: {e}".encode(), []
                finally:
                    conn.close()
                with proxy._lock:
                    proxy.requests.append(
                        Recorded(
                            self.path,
                            {k.lower(): v for k, v in headers.items()},
                            chunked,
                            body,
                            status,
                            answer,
                            {k.lower(): v for k, v in resp_headers},
                        )
                    )
                self.send_response(status)
                for k, v in resp_headers:
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        _serve(self.server)
        return self

    @property
    def port(self) -> int:
        """Where clients connect."""
        return int(self.server.server_address[1])

    def snapshot(self) -> list[Recorded]:
        """The requests so far."""
        with self._lock:
            return list(self.requests)

    def stop(self) -> None:
        """Stops listening."""
        self.server.shutdown()
        self.server.server_close()


def envelope_events(raw: bytes) -> Iterator[dict[str, Any]]:
    """The `event` items of a Sentry envelope (newline-separated JSON; items sized or not)."""
    lines = raw.split(b"\n", 1)
    rest = lines[1] if len(lines) > 1 else b""
    while rest.strip():
        head_line, _, rest = rest.partition(b"\n")
        head = json.loads(head_line)
        if "length" in head:
            payload, rest = rest[: head["length"]], rest[head["length"] :]
            rest = rest[1:] if rest.startswith(b"\n") else rest
        else:
            payload, _, rest = rest.partition(b"\n")
        if head.get("type") == "event":
            yield json.loads(payload)


# ── the relay ────────────────────────────────────────────────────────────────────────────────────

READY = "errata relay listening on"


@dataclass
class Relay:
    """`errata relay` as a subprocess, its stdout and stderr in files."""

    errata: str
    workdir: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    # The bound address, from the readiness line (`ERRATA_RELAY_ADDR=127.0.0.1:0` by default:
    # the OS picks a free port; a restart binds the same one again).
    addr: tuple[str, int] | None = None

    @property
    def stdout_path(self) -> Path:
        """The relay's stdout (the console sink's alerts)."""
        return self.workdir / "relay.stdout.log"

    @property
    def stderr_path(self) -> Path:
        """The relay's stderr (its logs)."""
        return self.workdir / "relay.stderr.log"

    def start(self) -> Relay:
        """Starts the relay and waits for its readiness line."""
        self.starts += 1
        out = open(self.stdout_path, "ab")  # noqa: SIM115 (kept open for the child)
        err = open(self.stderr_path, "ab")  # noqa: SIM115
        err.write(f"\n--- start {self.starts}\n".encode())
        err.flush()
        mark = self.stderr_path.stat().st_size
        env = {k: v for k, v in os.environ.items() if not k.startswith("ERRATA_")}
        env.update({"RUST_LOG": env.get("RUST_LOG", "info"), "ERRATA_RELAY_ADDR": "127.0.0.1:0", **self.env})
        if self.addr is not None:
            env["ERRATA_RELAY_ADDR"] = f"{self.addr[0]}:{self.addr[1]}"
        self.proc = subprocess.Popen([self.errata, "relay"], env=env, stdout=out, stderr=err, cwd=self.workdir)
        out.close()
        err.close()

        def ready() -> tuple[str, int] | None:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"errata relay exited with {self.proc.returncode}:\n{self.logs()}")
            with open(self.stderr_path, "rb") as f:
                f.seek(mark)
                m = re.search(rf"{READY} (\S+):(\d+)\n".encode(), f.read())
            return (m.group(1).decode(), int(m.group(2))) if m else None

        self.addr = wait_for("errata relay to listen", ready)
        return self

    def stop(self) -> int:
        """SIGTERM (the relay flushes), then waits for the exit; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"errata relay did not exit within {WAIT:.0f}s of SIGTERM") from None

    def logs(self) -> str:
        """Everything the relay wrote."""
        text = ""
        for p in (self.stderr_path, self.stdout_path):
            if p.exists():
                text += p.read_text(errors="replace")
        return text


def relay_counters(addr: tuple[str, int]) -> dict[str, Any]:
    """`GET /relay/stats`: the relay's own counters (events, over_quota, shed, sdk_discarded...)."""
    with urllib.request.urlopen(f"http://{addr[0]}:{addr[1]}/relay/stats", timeout=WAIT) as r:
        result: dict[str, Any] = json.load(r)
        return result


def stats(errata: str, store: str) -> dict[str, Any]:
    """`errata stats --format json` over the last hour."""
    out = subprocess.run(
        [errata, "stats", "--store", store, "--from", "-1h", "--format", "json"],
        capture_output=True,
        check=False,
        timeout=WAIT,
    )
    if out.returncode != 0:
        raise AssertionError(f"errata stats failed ({out.returncode}): {out.stderr.decode(errors='replace')}")
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def counts_by_code(s: dict[str, Any]) -> dict[str, int]:
    """`{code: count}` from `errata stats --format json`."""
    return {row["code"]: int(row["count"]) for row in s.get("codes", [])}


def store_bytes(store: Path) -> bytes:
    """The SQLite store as it is on disk: the database file and its WAL and journal, if any."""
    data = b""
    for p in sorted(store.parent.glob(store.name + "*")):
        data += p.read_bytes()
    return data


PG_SERVER = os.environ.get("RELAY_TEST_PG", "postgres://postgres@127.0.0.1:5432")


@contextlib.contextmanager
def postgres_database(prefix: str = "relayclients") -> Iterator[str]:
    """A fresh PostgreSQL database on the local server (`RELAY_TEST_PG`), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    psql = ["psql", f"{PG_SERVER}/postgres", "-v", "ON_ERROR_STOP=1", "-qAtc"]
    subprocess.run([*psql, f"CREATE DATABASE {name}"], check=True, capture_output=True, timeout=WAIT)
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False, timeout=WAIT)


def postgres_available() -> bool:
    """Whether the local PostgreSQL server answers."""
    try:
        return subprocess.run(["pg_isready", "-d", f"{PG_SERVER}/postgres", "-q"], timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def postgres_bytes(url: str) -> bytes:
    """Everything a PostgreSQL store holds, as `pg_dump` writes it (schema and rows)."""
    return subprocess.run(["pg_dump", url], check=True, capture_output=True, timeout=WAIT).stdout


def leaked(secrets: list[str], where: dict[str, bytes]) -> list[str]:
    """`"secret in place"` for every planted secret found anywhere (raw, or JSON-escaped)."""
    found = []
    for name, data in where.items():
        for s in secrets:
            if s.encode() in data or json.dumps(s).encode()[1:-1] in data:
                found.append(f"{s!r} in {name}")
    return found
