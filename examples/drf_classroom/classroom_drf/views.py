"""Seed 001's auth and enrollment subset: every failure is an exception of the catalog."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from . import errors
from .store import STORE, User


def _hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def kakao_api(path: str, token: str) -> tuple[int, bytes]:
    """Calls Kakao's API. The example has no network: tests replace this function with a
    local fake that answers like Kakao does."""
    raise errors.ApiError.of("UPSTREAM_ERROR", cause=RuntimeError(f"no network for {path}"))


class SignupIn(serializers.Serializer[Any]):
    email = serializers.EmailField()
    password = serializers.CharField(min_length=8, max_length=64)
    role = serializers.ChoiceField(choices=["student", "instructor"], default="student")

    def validate_email(self, value: str) -> str:
        if value in STORE.users:
            raise serializers.ValidationError("taken", code="email_taken")
        return value


class LoginIn(serializers.Serializer[Any]):
    email = serializers.EmailField()
    password = serializers.CharField()


def _user(request: Request) -> User:
    user = request.user
    if not isinstance(user, User):
        # DRF's own exception: the handler answers AUTH_REQUIRED with WWW-Authenticate.
        raise NotAuthenticated()
    return user


class SignupView(APIView):
    @extend_schema(request=SignupIn, responses={201: None, **errors.error_responses("VALIDATION_ERROR")})
    def post(self, request: Request) -> Response:
        data = SignupIn(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["email"]
        STORE.users[email] = User(
            len(STORE.users) + 1, email, _hash(data.validated_data["password"]), data.validated_data["role"]
        )
        return Response({"id": STORE.users[email].id}, status=201)


class LoginView(APIView):
    @extend_schema(request=LoginIn, responses={200: None, **errors.error_responses("AUTH_FAILED", "VALIDATION_ERROR")})
    def post(self, request: Request) -> Response:
        data = LoginIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = STORE.users.get(data.validated_data["email"])
        if user is None or user.password_hash != _hash(data.validated_data["password"]):
            raise errors.AuthFailed()
        token = secrets.token_hex(16)
        STORE.tokens[token] = user
        return Response({"access": token})


class LectureView(APIView):
    @extend_schema(responses={200: None, **errors.error_responses("LECTURE_NOT_FOUND", "AUTH_REQUIRED")})
    def get(self, request: Request, lecture_id: int) -> Response:
        _user(request)
        if lecture_id not in STORE.lectures:
            raise errors.LectureNotFound(details={"lecture_id": lecture_id})
        return Response({"id": lecture_id, "title": STORE.lectures[lecture_id]})

    @extend_schema(responses={204: None, **errors.error_responses("PERMISSION_DENIED", "AUTH_REQUIRED")})
    def delete(self, request: Request, lecture_id: int) -> Response:
        user = _user(request)
        if user.role != "instructor":
            raise PermissionDenied()
        STORE.lectures.pop(lecture_id, None)
        return Response(status=204)


class EnrollView(APIView):
    @extend_schema(
        request=None,
        responses={201: None, **errors.error_responses("ALREADY_ENROLLED", "LECTURE_NOT_FOUND", "AUTH_REQUIRED")},
    )
    def post(self, request: Request, lecture_id: int) -> Response:
        user = _user(request)
        if lecture_id not in STORE.lectures:
            raise errors.LectureNotFound()
        if lecture_id in user.enrolled:
            raise errors.AlreadyEnrolled()
        user.enrolled.add(lecture_id)
        return Response({"lecture_id": lecture_id}, status=201)


class KakaoChannelView(APIView):
    """Seed 000: whether the user added the Kakao channel; Kakao's failures go through the
    catalog's ``[upstreams.kakao]`` rules instead of an ``if`` chain over message texts."""

    @extend_schema(responses={200: None, **errors.error_responses("KAKAO_ACCOUNT_NOT_AVAILABLE", "UPSTREAM_ERROR")})
    def get(self, request: Request) -> Response:
        token = request.META.get("HTTP_X_KAKAO_TOKEN")
        if not token:
            raise errors.ApiError.of("VALIDATION_ERROR", field_errors=[errors.FieldError("X-Kakao-Token", "required")])
        status, body = kakao_api("/v1/api/talk/channels", token)
        if status >= 400:
            raise errors.classify("kakao", status, body)
        return Response({"added": True})


@extend_schema(exclude=True)
class PingView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "ping"

    def get(self, request: Request) -> Response:
        return Response({"pong": True})


@extend_schema(exclude=True)
class BoomView(APIView):
    def get(self, request: Request) -> Response:
        raise RuntimeError("connect to postgres://app:S3cret@db.internal:5432/classroom failed")


@extend_schema(exclude=True)
class DjangoNotFoundView(APIView):
    def get(self, request: Request) -> Response:
        raise Http404("no row 42 in table secret_lectures")


@extend_schema(exclude=True)
class RaiseView(APIView):
    """Raises any code of the catalog with the parameters, field errors and details of the
    JSON body: how the tests reach every code through a real request."""

    def post(self, request: Request, code: str) -> Response:
        spec: dict[str, Any] = request.data if isinstance(request.data, dict) else {}
        raise errors.ApiError.of(
            code,
            spec.get("params") or {},
            field_errors=[
                errors.FieldError(f["path"], f["code"], f.get("params") or {}, f.get("message"))
                for f in spec.get("field_errors") or []
            ],
            details=spec.get("details"),
            retry_after=spec.get("retry_after"),
        )
