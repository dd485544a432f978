"""Bearer tokens; kept apart from the views (DRF imports authentication classes early)."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from .store import STORE, User


class BearerAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>``; a token the store does not know fails."""

    def authenticate(self, request: Request) -> tuple[User, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token not in STORE.tokens:
            raise AuthenticationFailed()
        return STORE.tokens[token], token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="classroom"'
