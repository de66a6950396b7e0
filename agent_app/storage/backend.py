"""The relational seam: one small interface over SQLite (a file) or PostgreSQL (a URL)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agent_app.settings import Settings

Target = Path | str
"""A SQLite file path, or a postgresql:// URL."""


class DuplicateKeyError(Exception):
    """An insert hit a unique constraint (either backend)."""


class Rows(Protocol):
    """What a statement returns: its rows and how many it changed."""

    @property
    def rowcount(self) -> int:
        """Rows inserted, updated or deleted."""
        ...

    def fetchone(self) -> Any:
        """The next row, or None."""
        ...

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        ...


class Executor(Protocol):
    """Runs SQL written with `?` placeholders (SQLite style; PostgreSQL's are translated)."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """Run one statement."""
        ...


class Backend(Executor, Protocol):
    """A database shared by the app's threads: single statements and serialized transactions."""

    def transaction(self) -> AbstractContextManager[Executor]:
        """One transaction that excludes every other writer of this database's tables."""
        ...

    def close(self) -> None:
        """Release the connection(s)."""
        ...


def is_postgres(target: Target) -> bool:
    """Whether the target names a PostgreSQL database."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def open_backend(target: Target, schema: str, *, synchronous: str = "FULL") -> Backend:
    """The backend for a target, its schema created (under a lock on PostgreSQL)."""
    if is_postgres(target):
        from agent_app.storage.pg import PgBackend

        return PgBackend(str(target), schema)
    from agent_app.storage.sqlite import SqliteBackend

    return SqliteBackend(Path(target), schema, synchronous=synchronous)


def target_for(settings: Settings, filename: str) -> Target:
    """The database URL when one is configured, else this file in the data directory."""
    url = settings.database_url
    if url is None:
        return settings.data_dir / filename
    if not is_postgres(url.get_secret_value()):
        from agent_app.errors import StorageError

        raise StorageError("database_url scheme", key="error.database_scheme")
    return url.get_secret_value()


class SharedConnection:
    """Base of the relational stores: `_exec` one statement, `_transaction` several atomically."""

    def __init__(self, target: Target, schema: str, *, synchronous: str = "FULL") -> None:
        self._backend = open_backend(target, schema, synchronous=synchronous)

    @property
    def backend(self) -> Backend:
        """The database under this store."""
        return self._backend

    def close(self) -> None:
        """Close the database."""
        self._backend.close()

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self._backend.execute(sql, params)

    def _transaction(self) -> AbstractContextManager[Executor]:
        return self._backend.transaction()
