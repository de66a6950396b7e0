"""SQLite connections with the durability settings the app relies on (crash-safe, multi-process)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent_app.storage.backend import DuplicateKeyError

BUSY_TIMEOUT_MS = 30_000


def connect(
    path: Path | str, *, check_same_thread: bool = False, synchronous: str = "FULL"
) -> sqlite3.Connection:
    """Open a connection in WAL mode, synchronous=FULL (by default), with a busy timeout."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(path),
        timeout=BUSY_TIMEOUT_MS / 1000,
        check_same_thread=check_same_thread,
        isolation_level=None,  # autocommit; explicit BEGIN where atomicity matters
    )
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'NORMAL' if synchronous == 'NORMAL' else 'FULL'}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class SqliteBackend:
    """One connection shared by the app's threads behind a lock; the schema is created on open."""

    def __init__(self, path: Path | str, schema: str, *, synchronous: str = "FULL") -> None:
        self.conn = connect(path, synchronous=synchronous)
        self._lock = threading.Lock()
        with self._lock:
            self.conn.executescript(schema)

    def close(self) -> None:
        """Close the database."""
        self.conn.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run one statement (autocommit)."""
        with self._lock:
            try:
                return self.conn.execute(sql, tuple(params))
            except sqlite3.IntegrityError as err:
                raise DuplicateKeyError(str(err)) from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: every other writer, in any process, waits until it ends."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise


def pragmas(conn: sqlite3.Connection) -> dict[str, object]:
    """The durability PRAGMAs as they are now (for doctor and tests)."""
    return {
        "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
        "synchronous": conn.execute("PRAGMA synchronous").fetchone()[0],
        "busy_timeout": conn.execute("PRAGMA busy_timeout").fetchone()[0],
    }


def integrity_ok(path: Path | str) -> bool:
    """True when PRAGMA integrity_check says ok."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        return bool(conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    finally:
        conn.close()
