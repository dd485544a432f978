"""The example service through Django's test client: real requests, the generated handler."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from classroom_drf import errors, views

from .conftest import CATALOG, corpus

JSON = "application/json"


@pytest.fixture
def client() -> Client:
    return Client()


def body(response: Any) -> Any:
    return json.loads(response.content)


def signup_and_login(client: Client, email: str = "a@example.com", role: str = "student") -> str:
    r = client.post("/v1/auth/signup", {"email": email, "password": "password1", "role": role}, content_type=JSON)
    assert r.status_code == 201, r.content
    r = client.post("/v1/auth/login", {"email": email, "password": "password1"}, content_type=JSON)
    token: str = body(r)["access"]
    return token


def test_every_code_of_the_corpus_answers_from_a_real_request(client: Client) -> None:
    cases = [c for c in corpus(CATALOG)["cases"] if c["envelope"] != "flat"]
    assert len({c["code"] for c in cases}) == len(errors.ERRORS) - sum(
        1 for k, v in errors.ERRORS.items() if v.code != k
    )
    for case in cases:
        headers: dict[str, str] = {}
        if case.get("accept_language"):
            headers["HTTP_ACCEPT_LANGUAGE"] = case["accept_language"]
        if case.get("request_id"):
            headers["HTTP_X_REQUEST_ID"] = case["request_id"]
        if case["envelope"] == "problem":
            headers["HTTP_ACCEPT"] = "application/problem+json, application/json;q=0.9"
        spec = {k: case.get(k) for k in ("params", "field_errors", "details", "retry_after")}
        r = client.post(f"/v1/raise/{case['code']}", spec, content_type=JSON, **headers)  # type: ignore[arg-type]
        want = case["expect"]
        assert r.status_code == want["status"], case["name"]
        assert r["Content-Type"] == want["headers"][0][1], case["name"]
        for name, value in want["headers"][1:]:
            assert r[name] == value, case["name"]
        expected = dict(want["body"])
        # The handler fills in what the corpus leaves to the request: the path and an id.
        if case["envelope"] == "problem":
            expected["instance"] = f"/v1/raise/{case['code']}"
        if case.get("request_id") and " " not in case["request_id"]:
            assert r["X-Request-Id"] == case["request_id"]
        expected["request_id"] = r["X-Request-Id"]
        assert body(r) == expected, case["name"]


def test_login_failure_in_both_locales_and_as_problem_details(client: Client) -> None:
    creds = {"email": "nobody@example.com", "password": "wrong"}
    r = client.post("/v1/auth/login", creds, content_type=JSON)
    assert r.status_code == 401
    assert body(r)["error"] == {"code": "AUTH_FAILED", "message": "이메일 또는 비밀번호가 올바르지 않습니다."}
    r = client.post("/v1/auth/login", creds, content_type=JSON, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert body(r)["error"]["message"] == "The email or password is incorrect."
    r = client.post(
        "/v1/auth/login",
        creds,
        content_type=JSON,
        HTTP_ACCEPT="Application/Problem+JSON",
        HTTP_ACCEPT_LANGUAGE="fr, en;q=0.5",
    )
    assert r["Content-Type"] == "application/problem+json"
    problem = body(r)
    assert problem["type"] == "https://errors.classroom.example.com/AUTH_FAILED"
    assert (problem["status"], problem["code"], problem["instance"]) == (401, "AUTH_FAILED", "/v1/auth/login")
    assert problem["detail"] == "The email or password is incorrect."
    # q=0 never selects problem details.
    r = client.post("/v1/auth/login", creds, content_type=JSON, HTTP_ACCEPT="application/problem+json;q=0, */*")
    assert r["Content-Type"] == JSON


def test_validation_errors_carry_the_catalogs_field_codes(client: Client) -> None:
    client.post("/v1/auth/signup", {"email": "a@example.com", "password": "password1"}, content_type=JSON)
    r = client.post(
        "/v1/auth/signup",
        {"email": "a@example.com", "password": "short", "role": "admin"},
        content_type=JSON,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert r.status_code == 400
    error = body(r)["error"]
    assert error["code"] == "VALIDATION_ERROR"
    fields = error["field_errors"]
    assert fields["email"] == [{"code": "email_taken", "message": "This email is already in use."}]
    assert [e["code"] for e in fields["password"]] == ["too_short"]
    assert "8" in fields["password"][0]["message"]
    assert [e["code"] for e in fields["role"]] == ["invalid"]
    r = client.post("/v1/auth/signup", {}, content_type=JSON, HTTP_ACCEPT="application/problem+json")
    problem = body(r)
    assert sorted((e["field"], e["code"]) for e in problem["errors"]) == [
        ("email", "required"),
        ("password", "required"),
    ]


def test_throttling_answers_rate_limit_exceeded_with_retry_after(client: Client) -> None:
    assert client.get("/v1/ping").status_code == 200
    assert client.get("/v1/ping").status_code == 200
    r = client.get("/v1/ping", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 429
    seconds = int(r["Retry-After"])
    assert 0 < seconds <= 60
    error = body(r)["error"]
    assert error["code"] == "RATE_LIMIT_EXCEEDED"
    assert error["params"] == {"retry_after": seconds}
    assert error["message"] == f"Too many requests. Try again in {seconds} seconds."


def test_an_unhandled_exception_leaks_nothing(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    r = client.get("/v1/boom", HTTP_X_REQUEST_ID="trace-me-1")
    assert r.status_code == 500
    assert body(r) == {
        "error": {"code": "SERVER_ERROR", "message": "서버 내부 오류가 발생했습니다."},
        "status": 500,
        "request_id": "trace-me-1",
    }
    for secret in (b"S3cret", b"postgres", b"RuntimeError", b"db.internal"):
        assert secret not in r.content
    assert any("trace-me-1" in rec.getMessage() for rec in caplog.records)


def test_django_and_drf_errors_map_to_built_in_codes(client: Client) -> None:
    r = client.get("/v1/django-404")
    assert (r.status_code, body(r)["error"]["code"]) == (404, "NOT_FOUND")
    assert b"secret_lectures" not in r.content
    r = client.get("/v1/lectures/1")
    assert (r.status_code, body(r)["error"]["code"]) == (401, "AUTH_REQUIRED")
    assert r["WWW-Authenticate"] == 'Bearer realm="classroom"'
    r = client.get("/v1/lectures/1", HTTP_AUTHORIZATION="Bearer nope")
    assert (r.status_code, body(r)["error"]["code"]) == (401, "TOKEN_INVALID")
    token = signup_and_login(client)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    r = client.delete("/v1/lectures/1", **auth)  # type: ignore[arg-type]
    assert (r.status_code, body(r)["error"]["code"]) == (403, "PERMISSION_DENIED")
    r = client.put("/v1/auth/login", {}, content_type=JSON)
    assert (r.status_code, body(r)["error"]["code"]) == (405, "METHOD_NOT_ALLOWED")
    assert "POST" in r["Allow"]
    r = client.post("/v1/auth/login", "{not json", content_type=JSON)
    assert (r.status_code, body(r)["error"]["code"]) == (400, "MALFORMED_JSON")
    r = client.post("/v1/auth/login", "email=a", content_type="text/plain")
    assert (r.status_code, body(r)["error"]["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


def test_catalog_exceptions_from_views(client: Client) -> None:
    token = signup_and_login(client)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.post("/v1/lectures/1/enroll", **auth).status_code == 201  # type: ignore[arg-type]
    r = client.post("/v1/lectures/1/enroll", HTTP_ACCEPT_LANGUAGE="en", **auth)  # type: ignore[arg-type]
    assert (r.status_code, body(r)["error"]["code"]) == (409, "ALREADY_ENROLLED")
    r = client.get("/v1/lectures/9", **auth)  # type: ignore[arg-type]
    assert body(r)["error"] == {
        "code": "LECTURE_NOT_FOUND",
        "message": "강의를 찾을 수 없습니다.",
        "details": {"lecture_id": 9},
    }


KAKAO_CASES = [
    # Seed 000's message texts, now data in the catalog.
    (400, b'{"msg": "the account is inactive.", "code": -999}', 400, "KAKAO_ACCOUNT_NOT_AVAILABLE"),
    (
        400,
        b'{"msg": "given account is not connected to any talk user.", "code": -1}',
        400,
        "KAKAO_ACCOUNT_NOT_AVAILABLE",
    ),
    (400, b'{"code": -101, "msg": "anything"}', 400, "KAKAO_ACCOUNT_NOT_AVAILABLE"),
    (400, b'{"code": "-406", "msg": "a string code matches too"}', 400, "KAKAO_ACCOUNT_NOT_AVAILABLE"),
    (400, b'{"code": -10, "msg": "quota"}', 503, "KAKAO_QUOTA_EXCEEDED"),
    (503, b'{"code": -9798, "msg": "maintenance"}', 503, "SERVICE_UNAVAILABLE"),
    (400, b'{"code": -603}', 504, "UPSTREAM_TIMEOUT"),
    (500, b"<html>bad gateway</html>", 502, "UPSTREAM_ERROR"),
]


@pytest.fixture
def kakao(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, bytes]]]:
    """A local fake of Kakao's API: answers with the queued (status, body)."""
    answers: list[tuple[int, bytes]] = []
    monkeypatch.setattr(views, "kakao_api", lambda path, token: answers.pop(0))
    yield answers


@pytest.mark.parametrize(("upstream_status", "upstream_body", "status", "code"), KAKAO_CASES)
def test_kakao_rules_through_a_view(
    client: Client, kakao: list[tuple[int, bytes]], upstream_status: int, upstream_body: bytes, status: int, code: str
) -> None:
    kakao.append((upstream_status, upstream_body))
    r = client.get("/v1/user/kakao-channel-added", HTTP_X_KAKAO_TOKEN="t")
    assert (r.status_code, body(r)["error"]["code"]) == (status, code)
    # The upstream's text is never in the body.
    assert b"msg" not in r.content and b"bad gateway" not in r.content


def test_classify_is_the_catalogs_rules() -> None:
    for upstream_status, upstream_body, status, code in KAKAO_CASES:
        error = errors.classify("kakao", upstream_status, upstream_body)
        assert (error.status_code, error.code) == (status, code)
    assert errors.classify_timeout("kakao").code == "UPSTREAM_TIMEOUT"
    with pytest.raises(KeyError, match="kakao"):
        errors.classify("naver", 400, b"")


def test_missing_kakao_token_is_a_field_error(client: Client) -> None:
    r = client.get("/v1/user/kakao-channel-added", HTTP_ACCEPT_LANGUAGE="en")
    assert body(r)["error"]["field_errors"] == {
        "X-Kakao-Token": [
            {"code": "required", "message": body(r)["error"]["field_errors"]["X-Kakao-Token"][0]["message"]}
        ]
    }
    assert body(r)["error"]["field_errors"]["X-Kakao-Token"][0]["message"]


def test_request_ids_are_echoed_or_generated(client: Client) -> None:
    r = client.get("/v1/lectures/1", HTTP_X_REQUEST_ID="abc-123")
    assert r["X-Request-Id"] == "abc-123" and body(r)["request_id"] == "abc-123"
    r = client.get("/v1/lectures/1", HTTP_X_REQUEST_ID="has space")
    assert r["X-Request-Id"] != "has space" and len(r["X-Request-Id"]) == 32


def test_drf_spectacular_documents_each_views_codes() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    login = schema["paths"]["/v1/auth/login"]["post"]["responses"]
    examples = login["401"]["content"]["application/json"]["examples"].values()
    (example,) = [e for e in examples if e["value"]["error"]["code"] == "AUTH_FAILED"]
    assert example["summary"] == "이메일 또는 비밀번호가 올바르지 않습니다."
    assert example["value"] == {
        "error": {"code": "AUTH_FAILED", "message": "이메일 또는 비밀번호가 올바르지 않습니다."},
        "status": 401,
    }
    assert login["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}
    assert "400" in login
    assert "ErrorEnvelope" in schema["components"]["schemas"]
    assert "ErrorParams" in schema["components"]["schemas"]
    with pytest.raises(KeyError):
        errors.error_responses("NO_SUCH_CODE")
