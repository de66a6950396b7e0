"""Thread registry: who owns each conversation, its title, model choice and timestamps."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from agent_app.storage.backend import SharedConnection, Target
from agent_app.textsafe import clean_text
from agent_app.userid import check_user_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS threads (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    options TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS threads_user ON threads(user_id, updated_at DESC);
CREATE TABLE IF NOT EXISTS turn_notes (
    thread_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    notes TEXT NOT NULL,
    PRIMARY KEY (thread_id, message_id)
);
CREATE TABLE IF NOT EXISTS user_prefs (
    user_id TEXT PRIMARY KEY,
    prefs TEXT NOT NULL DEFAULT '{}'
);
"""
TITLE_MAX = 80


@dataclass(frozen=True)
class ThreadInfo:
    """One conversation as listed in the sidebar or `agent-app threads`."""

    id: str
    user_id: str
    title: str
    created_at: float
    updated_at: float
    options: dict[str, Any] = field(default_factory=dict)
    """The choices stored for this conversation (JSON); `ChatService.thread_options` resolves them."""

    def to_dict(self) -> dict[str, Any]:
        """The registry row as plain data."""
        return {
            "id": self.id,
            "title": self.title,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "options": self.options,
        }


def _row(row: tuple[Any, ...]) -> ThreadInfo:
    return ThreadInfo(row[0], row[1], row[2], row[3], row[4], json.loads(row[5] or "{}"))


class ThreadRegistry(SharedConnection):
    """Threads bound server-side to their owner: every method filters by user_id."""

    def __init__(self, target: Target) -> None:
        # NORMAL: a power cut may lose the last title/timestamp update, never corrupt the file;
        # conversations themselves live in the checkpointer, which stays at FULL.
        super().__init__(target, _SCHEMA, synchronous="NORMAL")

    def create(
        self, user_id: str, title: str = "", options: dict[str, Any] | None = None
    ) -> ThreadInfo:
        """Register a new conversation owned by the user."""
        check_user_id(user_id)
        now = time.time()
        info = ThreadInfo(
            str(uuid.uuid4()), user_id, clean_text(title)[:TITLE_MAX], now, now, options or {}
        )
        self._exec(
            "INSERT INTO threads VALUES (?,?,?,?,?,?)",
            (info.id, user_id, info.title, now, now, json.dumps(info.options)),
        )
        return info

    def get(self, user_id: str, thread_id: str) -> ThreadInfo | None:
        """The user's conversation, or None (also when someone else owns it)."""
        check_user_id(user_id)
        cur = self._exec("SELECT * FROM threads WHERE id=? AND user_id=?", (thread_id, user_id))
        row = cur.fetchone()
        return _row(row) if row else None

    def exists_for_other(self, user_id: str, thread_id: str) -> bool:
        """Whether another user owns a conversation with this id."""
        cur = self._exec("SELECT 1 FROM threads WHERE id=? AND user_id<>?", (thread_id, user_id))
        return cur.fetchone() is not None

    def list(self, user_id: str, query: str = "", limit: int = 500) -> list[ThreadInfo]:
        """The user's conversations, newest first, optionally filtered by title."""
        check_user_id(user_id)
        sql, params = "SELECT * FROM threads WHERE user_id=?", [user_id]
        if query:
            sql += " AND lower(title) LIKE lower(?) ESCAPE '\\'"  # case-blind on both backends
            escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
        sql += " ORDER BY updated_at DESC LIMIT ?"
        return [_row(r) for r in self._exec(sql, (*params, limit)).fetchall()]

    def rename(self, user_id: str, thread_id: str, title: str) -> bool:
        """Rename the user's conversation; False if it was not theirs."""
        cur = self._exec(
            "UPDATE threads SET title=?, updated_at=? WHERE id=? AND user_id=?",
            (clean_text(title).strip()[:TITLE_MAX], time.time(), thread_id, user_id),
        )
        return cur.rowcount > 0

    def retitle(self, user_id: str, thread_id: str, expected: str, title: str) -> bool:
        """Replace the title only if it is still `expected` (a user's rename wins); True if replaced."""
        cur = self._exec(
            "UPDATE threads SET title=? WHERE id=? AND user_id=? AND title=?",
            (clean_text(title).strip()[:TITLE_MAX], thread_id, user_id, expected),
        )
        return cur.rowcount > 0

    def touch(self, user_id: str, thread_id: str, title_if_empty: str = "") -> None:
        """Mark the conversation as just used, titling it if it has no title yet."""
        title = clean_text(" ".join(title_if_empty.split()))[:TITLE_MAX]
        self._exec(
            "UPDATE threads SET updated_at=?, title=CASE WHEN title='' THEN ? ELSE title END "
            "WHERE id=? AND user_id=?",
            (time.time(), title, thread_id, user_id),
        )

    def set_options(self, user_id: str, thread_id: str, options: dict[str, Any]) -> None:
        """Store the conversation's options."""
        self._exec(
            "UPDATE threads SET options=? WHERE id=? AND user_id=?",
            (json.dumps(options, ensure_ascii=False), thread_id, user_id),
        )

    def delete(self, user_id: str, thread_id: str) -> bool:
        """Remove the user's conversation; False if it was not theirs."""
        cur = self._exec("DELETE FROM threads WHERE id=? AND user_id=?", (thread_id, user_id))
        if cur.rowcount > 0:
            self._exec("DELETE FROM turn_notes WHERE thread_id=?", (thread_id,))
        return cur.rowcount > 0

    def set_note(self, thread_id: str, message_id: str, notes: dict[str, Any]) -> None:
        """Keep a turn's notes beside one stored message (empty notes remove them)."""
        if not notes:
            self._exec(
                "DELETE FROM turn_notes WHERE thread_id=? AND message_id=?", (thread_id, message_id)
            )
            return
        self._exec(
            "INSERT INTO turn_notes VALUES (?,?,?) ON CONFLICT(thread_id, message_id) DO UPDATE SET notes=excluded.notes",
            (thread_id, message_id, json.dumps(notes, ensure_ascii=False)),
        )

    def notes(self, thread_id: str) -> dict[str, dict[str, Any]]:
        """Every note of a conversation by message id (the caller has checked its owner)."""
        rows = self._exec(
            "SELECT message_id, notes FROM turn_notes WHERE thread_id=?", (thread_id,)
        ).fetchall()
        return {mid: json.loads(raw) for mid, raw in rows}

    def get_prefs(self, user_id: str) -> dict[str, Any]:
        """The user's preferences, {} when none are stored."""
        row = self._exec("SELECT prefs FROM user_prefs WHERE user_id=?", (user_id,)).fetchone()
        return json.loads(row[0]) if row else {}

    def set_prefs(self, user_id: str, prefs: dict[str, Any]) -> None:
        """Store the user's preferences."""
        self._exec(
            "INSERT INTO user_prefs VALUES (?,?) ON CONFLICT(user_id) DO UPDATE SET prefs=excluded.prefs",
            (user_id, json.dumps(prefs, ensure_ascii=False)),
        )
