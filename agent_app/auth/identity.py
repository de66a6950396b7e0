"""The signed-in principal as every service call sees it, and the rules for account names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent_app.settings import Settings

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class Identity:
    """One principal: `user_id` keys every byte the user owns; `name` is for display only."""

    user_id: str
    name: str
    is_admin: bool = False
    mode: str = "none"


def normalize_name(name: str) -> str:
    """Account names are case-insensitive: 'Alice' and 'alice' are one account."""
    return (name or "").strip().lower()


def valid_name(name: str) -> bool:
    """Whether an account name is allowed (after normalization)."""
    return bool(NAME_RE.match(normalize_name(name)))


def admin_ids(settings: Settings) -> frozenset[str]:
    """User ids made admin by configuration (oidc/header modes have no local admin flag at first)."""
    return frozenset(part.strip() for part in settings.admins.split(",") if part.strip())


def local_identity(settings: Settings) -> Identity:
    """The single local user of `none` mode: the owner of the machine, so an admin."""
    return Identity(user_id=settings.user, name=settings.user, is_admin=True, mode="none")
