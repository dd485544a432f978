"""Three views: one whose Kakao account errors are reported (seed 000's handler), one that fails when
Kakao drops the connection, one that crashes on a bug."""

from __future__ import annotations

from typing import Any

import sentry_sdk
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from kakao import client
from kakao.errors import KakaoAccountNotAvailableError, KakaoError


class KakaoLinkView(APIView):
    """`POST /v1/auth/kakao/link`: links the user's Kakao account after checking the password."""

    def post(self, request: Request) -> Response:
        password = request.data.get("password", "")  # checked against the user's, elsewhere
        access_token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        profile = client.talk_profile(access_token)
        return Response({"linked": True, "nickname": profile.get("nickName"), "checked": bool(password)})


class KakaoFriendsView(APIView):
    """`GET /v1/auth/kakao/friends`: the user's Kakao friends; fails when Kakao drops the connection."""

    def get(self, request: Request) -> Response:
        access_token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return Response(client.talk_friends(access_token))


class LectureAverageView(APIView):
    """`GET /v1/lectures/{lecture_id}/average`: a bug: a lecture without grades divides by zero."""

    def get(self, request: Request, lecture_id: int) -> Response:
        grades: list[int] = []
        session_cookie = request.COOKIES.get("sessionid", "")
        average = sum(grades) / len(grades)
        return Response({"lecture": lecture_id, "average": average, "session": bool(session_cookie)})


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The handler as the team wrote it: every Kakao error goes to Sentry, then a 4xx/503."""
    if isinstance(exc, KakaoError):
        sentry_sdk.capture_exception(exc)
        if isinstance(exc, KakaoAccountNotAvailableError):
            return Response({"code": "KAKAO_ACCOUNT_NOT_AVAILABLE"}, status=400)
        return Response({"code": "KAKAO_UNAVAILABLE"}, status=503)
    return drf_exception_handler(exc, context)
