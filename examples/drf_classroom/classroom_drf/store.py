"""The example's data, in memory."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class User:
    """A user of the example (kept in memory)."""

    id: int
    email: str
    password_hash: str
    role: str = "student"
    enrolled: set[int] = field(default_factory=set)

    @property
    def is_authenticated(self) -> bool:
        return True


@dataclass
class Store:
    """The example's data: users, tokens and lectures, in memory."""

    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, User] = field(default_factory=dict)
    lectures: dict[int, str] = field(default_factory=lambda: {1: "Rust for Django developers"})

    def reset(self) -> None:
        self.users.clear()
        self.tokens.clear()


STORE = Store()
