"""Calls the Kakao API (a fake on loopback in the tests) and raises typed errors."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.conf import settings

from kakao.errors import KakaoAccountNotAvailableError, KakaoError, KakaoUnavailableError

# Kakao's account error codes (developers.kakao.com, "Kakao Talk" and "User management").
ACCOUNT_CODES = {-501, -502, -101, -401, -406}


def talk_profile(access_token: str) -> dict[str, object]:
    """`GET /v1/api/talk/profile` with the user's access token."""
    return _get("/v1/api/talk/profile", access_token)


def talk_friends(access_token: str) -> dict[str, object]:
    """`GET /v1/api/talk/friends`. A connection Kakao drops raises `http.client.RemoteDisconnected`
    (not wrapped: the client has no handler for it, so the view fails with a 500)."""
    return _get("/v1/api/talk/friends", access_token)


def _get(path: str, access_token: str) -> dict[str, object]:
    req = urllib.request.Request(
        f"{settings.KAKAO_API_BASE}{path}",
        headers={"Authorization": f"Bearer {access_token}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            body: dict[str, object] = json.load(resp)
            return body
    except urllib.error.HTTPError as e:
        payload = json.loads(e.read() or b"{}")
        code = int(payload.get("code", 0))
        msg = str(payload.get("msg", ""))
        if code in ACCOUNT_CODES:
            raise KakaoAccountNotAvailableError(e.code, code, msg) from None
        if e.code >= 500:
            raise KakaoUnavailableError(e.code, code, msg) from None
        raise KakaoError(e.code, code, msg) from None
