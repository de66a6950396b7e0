"""Accounts in SQLite: users, durable lock-out after failed sign-ins, and expiring sessions."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from agent_app.auth.identity import Identity, admin_ids, normalize_name, valid_name
from agent_app.auth.passwords import MAX_PASSWORD_CHARS, Passwords
from agent_app.errors import AppError
from agent_app.settings import Settings
from agent_app.storage.backend import DuplicateKeyError, SharedConnection, Target, target_for

log = logging.getLogger(__name__)
MIN_PASSWORD_CHARS = 8
_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    pw_hash TEXT,
    is_admin INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    mode TEXT NOT NULL DEFAULT 'password',
    created_at DOUBLE PRECISION NOT NULL,
    last_login DOUBLE PRECISION
);
CREATE TABLE IF NOT EXISTS login_failures (
    name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS login_failures_by_address (
    name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
"""


class AccountError(AppError):
    """An admin action that cannot be done (unknown user, bad name, weak password)."""

    kind, key = "account", "auth.error.account"


@dataclass(frozen=True)
class UserRow:
    """One account as `users list` and the Admin page show it (never the hash)."""

    user_id: str
    name: str
    is_admin: bool
    disabled: bool
    mode: str
    created_at: float
    last_login: float | None

    def to_dict(self) -> dict[str, Any]:
        """The account as plain data."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class LoginResult:
    """A sign-in attempt: `ok` with a session token, or `invalid` / `locked` and nothing else."""

    status: str
    identity: Identity | None = None
    token: str | None = None
    retry_after_s: float = 0.0


_BY_NAME, _BY_ADDRESS = "login_failures", "login_failures_by_address"  # fixed table names


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountStore(SharedConnection):
    """Users and sessions of one data directory; safe across threads and processes."""

    def __init__(
        self, target: Target, settings: Settings, passwords: Passwords | None = None
    ) -> None:
        self.settings = settings
        self.passwords = passwords or Passwords()
        super().__init__(target, _SCHEMA)

    # ---- accounts ------------------------------------------------------------------------
    def add_user(self, name: str, password: str, *, is_admin: bool = False) -> UserRow:
        """Create a password account; AccountError if the name is invalid or taken."""
        who = normalize_name(name)
        if not valid_name(who):
            raise AccountError(who, key="auth.error.bad_name")
        digest = self.passwords.hash(self._checked_password(password))
        try:
            self._exec(
                "INSERT INTO users (user_id, name, pw_hash, is_admin, mode, created_at) "
                "VALUES (?,?,?,?, 'password', ?)",
                (who, who, digest, int(is_admin), time.time()),
            )
        except DuplicateKeyError:
            raise AccountError(who, key="auth.error.exists", name=who) from None
        return self.get(who)

    @staticmethod
    def _checked_password(password: str) -> str:
        if not MIN_PASSWORD_CHARS <= len(password or "") <= MAX_PASSWORD_CHARS:
            raise AccountError(
                "password length", key="auth.error.weak_password", n=MIN_PASSWORD_CHARS
            )
        return password

    def get(self, ref: str) -> UserRow:
        """An account by user id or name; AccountError when there is none."""
        row = self._exec(
            "SELECT user_id, name, is_admin, disabled, mode, created_at, last_login FROM users "
            "WHERE user_id=? OR name=? ORDER BY user_id=? DESC LIMIT 1",
            (ref, normalize_name(ref), ref),
        ).fetchone()
        if row is None:
            raise AccountError(ref, key="auth.error.no_user", name=ref)
        return UserRow(row[0], row[1], bool(row[2]), bool(row[3]), row[4], row[5], row[6])

    def list_users(self) -> list[UserRow]:
        """Every account, by name."""
        rows = self._exec("SELECT user_id FROM users ORDER BY name").fetchall()
        return [self.get(r[0]) for r in rows]

    def set_disabled(self, ref: str, disabled: bool = True) -> UserRow:
        """Disable (ending its sessions) or re-enable an account."""
        user = self.get(ref)
        self._exec("UPDATE users SET disabled=? WHERE user_id=?", (int(disabled), user.user_id))
        if disabled:
            self.end_sessions_of(user.user_id)
        return self.get(user.user_id)

    def set_admin(self, ref: str, is_admin: bool = True) -> UserRow:
        """Grant or revoke the admin role."""
        user = self.get(ref)
        self._exec("UPDATE users SET is_admin=? WHERE user_id=?", (int(is_admin), user.user_id))
        return self.get(user.user_id)

    def reset_password(self, ref: str, password: str) -> UserRow:
        """Set a new password, clear failed sign-ins and end the account's sessions."""
        user = self.get(ref)
        if user.mode != "password":
            raise AccountError(ref, key="auth.error.not_password", name=user.name)
        digest = self.passwords.hash(self._checked_password(password))
        self._exec("UPDATE users SET pw_hash=? WHERE user_id=?", (digest, user.user_id))
        self._exec("DELETE FROM login_failures WHERE name=?", (user.name,))
        self.end_sessions_of(user.user_id)
        return user

    def identity(self, user: UserRow) -> Identity:
        """The principal every service call sees for this account."""
        is_admin = user.is_admin or user.user_id in admin_ids(self.settings)
        return Identity(user.user_id, user.name, is_admin, user.mode)

    def external(self, user_id: str, name: str, mode: str) -> Identity | None:
        """The identity an OIDC provider or a trusted proxy vouched for; None when disabled."""
        self._exec(
            "INSERT INTO users (user_id, name, mode, created_at, last_login) VALUES (?,?,?,?,?) "
            "ON CONFLICT(user_id) DO UPDATE SET last_login=excluded.last_login",
            (
                user_id,
                f"{name} ({user_id})" if self._name_taken(name, user_id) else name,
                mode,
                time.time(),
                time.time(),
            ),
        )
        user = self.get(user_id)
        return None if user.disabled else self.identity(user)

    def _name_taken(self, name: str, user_id: str) -> bool:
        row = self._exec(
            "SELECT 1 FROM users WHERE name=? AND user_id<>?", (name, user_id)
        ).fetchone()
        return row is not None

    # ---- sign-in -------------------------------------------------------------------------
    def authenticate(self, name: str, password: str, *, peer: str | None = None) -> LoginResult:
        """Check a password: the same one Argon2 verify and the same answer for every kind of wrong.

        `peer` (the client's address) is counted too: one address trying many names is stopped
        after `login_max_failures_per_address`, as one name tried from many addresses is.
        """
        who = normalize_name(name)[:64]
        now = time.time()
        locked = max(
            self._locked_for(_BY_NAME, who, now),
            self._locked_for(_BY_ADDRESS, peer, now) if peer else 0.0,
        )
        if locked > 0:
            return LoginResult("locked", retry_after_s=locked)
        row = self._exec(
            "SELECT user_id, pw_hash, disabled FROM users WHERE name=? AND mode='password'", (who,)
        ).fetchone()
        ok = self.passwords.check(row[1] if row else None, password or "")
        if ok and row[2]:
            log.info("sign-in refused: account %s is disabled", who)
            ok = False
        if not ok:
            by_address = (
                self._failed(_BY_ADDRESS, peer, now, self.settings.login_max_failures_per_address)
                if peer
                else LoginResult("invalid")
            )
            by_name = self._failed(_BY_NAME, who, now, self.settings.login_max_failures)
            return by_name if by_name.status == "locked" else by_address
        self._exec("DELETE FROM login_failures WHERE name=?", (who,))
        self._exec("UPDATE users SET last_login=? WHERE user_id=?", (now, row[0]))
        if self.passwords.needs_rehash(row[1]):
            self._exec(
                "UPDATE users SET pw_hash=? WHERE user_id=?",
                (self.passwords.hash(password), row[0]),
            )
        user = self.get(row[0])
        return LoginResult("ok", self.identity(user), self.start_session(user.user_id))

    def _locked_for(self, table: str, key: str | None, now: float) -> float:
        row = self._exec(f"SELECT locked_until FROM {table} WHERE name=?", (key,)).fetchone()
        return max(0.0, (row[0] if row else 0.0) - now)

    def _failed(self, table: str, key: str, now: float, limit: int) -> LoginResult:
        # Counted per typed name, known or not, so a lock-out reveals nothing about who exists.
        limit = max(1, limit)
        with self._transaction() as conn:
            conn.execute(
                f"INSERT INTO {table} (name, failures) VALUES (?, 1) "
                f"ON CONFLICT(name) DO UPDATE SET failures={table}.failures+1",
                (key,),
            )
            failures = conn.execute(
                f"SELECT failures FROM {table} WHERE name=?", (key,)
            ).fetchone()[0]
            if failures >= limit:
                until = now + self.settings.login_lockout_minutes * 60
                conn.execute(
                    f"UPDATE {table} SET failures=0, locked_until=? WHERE name=?",
                    (until, key),
                )
        if failures >= limit:
            return LoginResult("locked", retry_after_s=self.settings.login_lockout_minutes * 60)
        return LoginResult("invalid")

    # ---- sessions ------------------------------------------------------------------------
    def start_session(self, user_id: str) -> str:
        """A new session token for the user (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        expires = time.time() + self.settings.session_hours * 3600
        self._exec("DELETE FROM sessions WHERE expires_at < ?", (time.time(),))
        self._exec("INSERT INTO sessions VALUES (?,?,?)", (_digest(token), user_id, expires))
        return token

    def session(self, token: str | None) -> Identity | None:
        """The identity behind a live session token; None when expired, ended or disabled."""
        if not token:
            return None
        row = self._exec(
            "SELECT s.user_id FROM sessions s JOIN users u ON u.user_id = s.user_id "
            "WHERE s.token_hash=? AND s.expires_at > ? AND u.disabled = 0",
            (_digest(token), time.time()),
        ).fetchone()
        return self.identity(self.get(row[0])) if row else None

    def end_session(self, token: str | None) -> None:
        """End the session with this token, if any."""
        if token:
            self._exec("DELETE FROM sessions WHERE token_hash=?", (_digest(token),))

    def end_sessions_of(self, user_id: str) -> None:
        """End every session of the user."""
        self._exec("DELETE FROM sessions WHERE user_id=?", (user_id,))


def open_accounts(settings: Settings, passwords: Passwords | None = None) -> AccountStore:
    """The account store: the configured database, else users.db in the data directory."""
    return AccountStore(target_for(settings, "users.db"), settings, passwords)
