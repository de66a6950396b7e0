"""Argon2id password hashing with one verify per attempt, known user or not."""

from __future__ import annotations

import secrets
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id floor (19 MiB, 2 passes): memory-hard, yet a sign-in stays well under a second
# on a small shared VM.
TIME_COST, MEMORY_KIB, PARALLELISM = 2, 19_456, 1
MAX_PASSWORD_CHARS = 1024


class Passwords:
    """Hash and check passwords; `check` against no hash still spends one full verify."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher(TIME_COST, MEMORY_KIB, PARALLELISM)

    @cached_property
    def _dummy(self) -> str:
        # Same parameters as real hashes, so a wrong name costs what a wrong password costs.
        return self.hasher.hash(secrets.token_urlsafe(24))

    def hash(self, password: str) -> str:
        """An Argon2id hash of the password."""
        return self.hasher.hash(password)

    def check(self, stored: str | None, password: str) -> bool:
        """True when `password` matches `stored`; exactly one Argon2 verify either way."""
        too_long = len(password) > MAX_PASSWORD_CHARS
        target = self._dummy if stored is None or too_long else stored
        ok: bool
        try:
            ok = self.hasher.verify(target, password[:MAX_PASSWORD_CHARS])
        except (VerificationError, InvalidHashError):
            ok = False
        return ok and target is stored

    def needs_rehash(self, stored: str) -> bool:
        """Whether a stored hash uses outdated parameters (or is unreadable)."""
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True
