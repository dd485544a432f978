"""The errors of the Kakao client: the account errors are the user's, not the server's."""

from __future__ import annotations


class KakaoError(Exception):
    """Kakao answered with an error."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(f"Kakao answered {status} with code {code}: {msg}")
        self.status = status
        self.code = code
        self.msg = msg


class KakaoAccountNotAvailableError(KakaoError):
    """The user's Kakao account cannot be used (not linked to Kakao Talk, inactive, restricted)."""


class KakaoUnavailableError(KakaoError):
    """Kakao itself failed (5xx, timeout, quota)."""
