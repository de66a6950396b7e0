"""Per-user budgets: tokens per day and turns per minute, durable in SQLite, checked before the model."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from agent_app import events as ev
from agent_app.errors import AppError
from agent_app.settings import Settings
from agent_app.storage.backend import Executor, SharedConnection, Target, target_for

log = logging.getLogger(__name__)
SIGNED_IN_DAILY_TOKENS = 1_000_000
SIGNED_IN_RPM = 20
_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_daily (
    user_id TEXT NOT NULL,
    day TEXT NOT NULL,
    input_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    requests BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, day)
);
CREATE TABLE IF NOT EXISTS recent_requests (user_id TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS recent_user ON recent_requests(user_id, ts);
CREATE TABLE IF NOT EXISTS limits (
    user_id TEXT PRIMARY KEY,
    daily_tokens BIGINT,
    rpm BIGINT
);
"""


class QuotaExceededError(AppError):
    """The user's own budget is spent: refused before any provider request."""

    kind, key = "quota_exceeded", "error.quota_tokens"


@dataclass(frozen=True)
class Limits:
    """A user's budget; 0 means unlimited."""

    daily_tokens: int
    rpm: int


def default_limits(settings: Settings) -> Limits:
    """Settings' budget, with safe defaults once the app has more than one user."""
    signed_in = settings.auth != "none"
    tokens = settings.daily_token_budget
    rpm = settings.requests_per_minute
    return Limits(
        SIGNED_IN_DAILY_TOKENS if tokens is None and signed_in else (tokens or 0),
        SIGNED_IN_RPM if rpm is None and signed_in else (rpm or 0),
    )


class UsageLedger(SharedConnection):
    """Usage per user per day and the budget check; one database shared by every process."""

    def __init__(self, target: Target, settings: Settings) -> None:
        self.settings = settings
        self.defaults = default_limits(settings)
        self._tz = ZoneInfo(settings.timezone)
        # NORMAL (WAL): a crash of the app loses nothing; only a power cut may lose the last few
        # counts, which keeps two fsyncs off every turn.
        super().__init__(target, _SCHEMA, synchronous="NORMAL")

    def day(self, now: float | None = None) -> str:
        """The budget day in the app's time zone (a day starts at local midnight)."""
        return dt.datetime.fromtimestamp(now or time.time(), self._tz).date().isoformat()

    # ---- limits --------------------------------------------------------------------------
    def limits_for(self, user_id: str) -> Limits:
        """The user's budgets: their overrides over the defaults."""
        row = self._exec(
            "SELECT daily_tokens, rpm FROM limits WHERE user_id=?", (user_id,)
        ).fetchone()
        if row is None:
            return self.defaults
        return Limits(
            self.defaults.daily_tokens if row[0] is None else row[0],
            self.defaults.rpm if row[1] is None else row[1],
        )

    def set_limits(self, user_id: str, daily_tokens: int | None, rpm: int | None) -> Limits:
        """An admin's override for one user (None: back to the default)."""
        self._exec(
            "INSERT INTO limits VALUES (?,?,?) ON CONFLICT(user_id) DO UPDATE SET "
            "daily_tokens=excluded.daily_tokens, rpm=excluded.rpm",
            (user_id, daily_tokens, rpm),
        )
        return self.limits_for(user_id)

    def overrides(self) -> dict[str, tuple[int | None, int | None]]:
        """Every user's budget overrides (daily tokens, turns per minute)."""
        return {r[0]: (r[1], r[2]) for r in self._exec("SELECT * FROM limits").fetchall()}

    # ---- the check -----------------------------------------------------------------------
    def admit(self, user_id: str, now: float | None = None) -> None:
        """Count one turn, or raise QuotaExceededError (tokens today, or turns this minute) first."""
        now = now or time.time()
        limits, day = self.limits_for(user_id), self.day(now)
        if not (limits.daily_tokens or limits.rpm):  # nothing to check: one statement, no lock
            self._count_turn(self.backend, user_id, day)
            return
        with self._transaction() as conn:
            self._admit_locked(conn, user_id, limits, day, now)

    @staticmethod
    def _admit_locked(conn: Executor, user_id: str, limits: Limits, day: str, now: float) -> None:
        row = conn.execute(
            "SELECT input_tokens + output_tokens FROM usage_daily WHERE user_id=? AND day=?",
            (user_id, day),
        ).fetchone()
        if limits.daily_tokens and (row[0] if row else 0) >= limits.daily_tokens:
            raise QuotaExceededError(user_id, limit=limits.daily_tokens)
        if limits.rpm:  # the window is kept only while a turns-per-minute limit applies
            conn.execute(
                "DELETE FROM recent_requests WHERE user_id=? AND ts <= ?", (user_id, now - 60)
            )
            recent = conn.execute(
                "SELECT COUNT(*), MIN(ts) FROM recent_requests WHERE user_id=?", (user_id,)
            ).fetchone()
            if recent[0] >= limits.rpm:
                wait = max(1, int(recent[1] + 60 - now + 0.999))
                raise QuotaExceededError(
                    user_id, key="error.quota_rpm", limit=limits.rpm, seconds=wait
                )
            conn.execute("INSERT INTO recent_requests VALUES (?,?)", (user_id, now))
        UsageLedger._count_turn(conn, user_id, day)

    @staticmethod
    def _count_turn(conn: Executor, user_id: str, day: str) -> None:
        conn.execute(
            "INSERT INTO usage_daily (user_id, day, requests) VALUES (?,?,1) "
            "ON CONFLICT(user_id, day) DO UPDATE SET requests=usage_daily.requests+1",
            (user_id, day),
        )

    def record(self, user_id: str, usage: ev.Usage, now: float | None = None) -> None:
        """Add one model call's tokens to the user's day."""
        self._exec(
            "INSERT INTO usage_daily (user_id, day, input_tokens, output_tokens) VALUES (?,?,?,?) "
            "ON CONFLICT(user_id, day) DO UPDATE SET input_tokens=usage_daily.input_tokens+excluded.input_tokens, "
            "output_tokens=usage_daily.output_tokens+excluded.output_tokens",
            (user_id, self.day(now), max(0, usage.input_tokens), max(0, usage.output_tokens)),
        )

    def record_tokens(self, user_id: str, input_tokens: int, output_tokens: int) -> None:
        """Add a background model call's tokens (memory extraction) to the user's day; not a turn."""
        self.record(user_id, ev.Usage(input_tokens, output_tokens, 0.0, "background"))

    def may_extract(self, user_id: str) -> bool:
        """Whether background work for the user may call the model: tokens left today (turns are not counted)."""
        limit = self.limits_for(user_id).daily_tokens
        return not limit or self.tokens_today(user_id) < limit

    # ---- reading -------------------------------------------------------------------------
    def usage(self, user_id: str | None = None, days: int = 30) -> list[dict[str, Any]]:
        """Rows {user_id, day, input_tokens, output_tokens, requests}, newest day first."""
        since = self.day(time.time() - days * 86400)
        sql = "SELECT user_id, day, input_tokens, output_tokens, requests FROM usage_daily WHERE day > ?"
        params: tuple[Any, ...] = (since,)
        if user_id is not None:
            sql, params = sql + " AND user_id=?", (since, user_id)
        keys = ("user_id", "day", "input_tokens", "output_tokens", "requests")
        rows = self._exec(sql + " ORDER BY day DESC, user_id", params).fetchall()
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def tokens_today(self, user_id: str) -> int:
        """Tokens the user spent today."""
        row = self._exec(
            "SELECT input_tokens + output_tokens FROM usage_daily WHERE user_id=? AND day=?",
            (user_id, self.day()),
        ).fetchone()
        return int(row[0]) if row else 0


R = TypeVar("R")


def metered(
    events: Generator[ev.Event, None, R], ledger: UsageLedger | None, user_id: str
) -> Generator[ev.Event, None, R]:
    """Pass a turn's events (and its return value) through, adding each `usage` to the user's day."""
    while True:
        try:
            event = next(events)
        except StopIteration as end:
            return end.value
        if ledger is not None and isinstance(event, ev.Usage):
            try:
                ledger.record(user_id, event)
            except AppError:  # the database went away mid-turn: the answer still streams
                log.warning("usage of one model call not recorded (database unavailable)")
        yield event


def admission_error(ledger: UsageLedger | None, user_id: str, lang: str) -> ev.Error | None:
    """The `quota_exceeded` event that replaces a turn over budget, or None to go ahead."""
    if ledger is None:
        return None
    try:
        ledger.admit(user_id)
    except AppError as err:  # over budget, or the ledger's database is unavailable
        return ev.Error(err.kind, err.user_message(lang))
    return None


def open_ledger(settings: Settings) -> UsageLedger:
    """The usage ledger in the data directory."""
    return UsageLedger(target_for(settings, "usage.db"), settings)
