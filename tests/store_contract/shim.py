"""LangGraph's store constructors (SqliteStore, AsyncSqliteStore, InMemoryStore) backed by our stores.

The vendored contract suites build their stores through these names; every one of them is the
store the app opens for the backend under test (conftest sets BACKEND): a SqliteFaissStore in a
temporary directory, or the PostgreSQL memory store in the test's own schema.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from agent_app.memory.store import SqliteFaissStore
from agent_app.providers.offline_embed import OfflineEmbedder

SqliteIndexConfig = dict
_dirs: list[str] = []
_open: list[Any] = []
BACKEND: dict[str, str | None] = {"url": None}
"""The PostgreSQL URL of the current test, or None for SQLite (set by conftest)."""


def _cleanup() -> None:
    for store in _open:
        store.close()
    for path in _dirs:
        shutil.rmtree(path, ignore_errors=True)


atexit.register(_cleanup)


def _own_schema(url: str) -> str:
    """The URL with a new schema of its own first on the search path (a test may open two stores)."""
    import uuid

    import psycopg

    schema = f"s_{uuid.uuid4().hex[:12]}"
    base = url.split("?", 1)[0]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{base}?options=-csearch_path%3D{schema},public"


def _pg_store(url: str, index: dict[str, Any] | None) -> Any:
    from agent_app.memory.pg_store import PgMemoryStore
    from agent_app.storage.pg import open_pool, schema_lock

    config = dict(index) if index else None
    if config and "text_fields" in config:  # the SQLite suites' name for LangGraph's "fields"
        config["fields"] = config.pop("text_fields")
    store = PgMemoryStore(open_pool(_own_schema(url)), index=config)
    with schema_lock(store.conn):
        store.setup()
    _open.append(store)
    return store


def _store(path: str | None, index: dict[str, Any] | None) -> Any:
    if BACKEND["url"]:
        return _pg_store(BACKEND["url"], index)
    work = tempfile.mkdtemp(prefix="store-contract-")
    _dirs.append(work)
    # ":memory:" has one database per connection in SQLite; our store opens one per thread.
    db = Path(work) / "store.sqlite" if path in (None, ":memory:") else Path(path)
    if index is None:  # no index configured: search by filters only (the embedder is unused)
        store = SqliteFaissStore(db, OfflineEmbedder(dim=8), snapshot_dir=work, background=False)
        store.index_config = None
    else:
        fields = index.get("fields") or index.get("text_fields")
        chosen = {"index_fields": fields} if fields else {}  # else the store's default: ["$"]
        store = SqliteFaissStore(
            db, index["embed"], dims=index["dims"], snapshot_dir=work, background=False, **chosen
        )
        store.index_config = dict(index)
    _open.append(store)
    return store


class SqliteStore:
    """from_conn_string(...) as a context manager, like langgraph.store.sqlite.SqliteStore."""

    @staticmethod
    @contextmanager
    def from_conn_string(
        conn_string: str, *, index: dict[str, Any] | None = None, **_: Any
    ) -> Iterator[SqliteFaissStore]:
        store = _store(conn_string, index)
        store.setup = lambda: None  # type: ignore[attr-defined]  # our schema is created on open
        try:
            yield store
        finally:
            store.close()


class AsyncSqliteStore:
    """The async twin: the same store, used through BaseStore's a* methods."""

    @staticmethod
    @asynccontextmanager
    async def from_conn_string(
        conn_string: str, *, index: dict[str, Any] | None = None, **_: Any
    ) -> AsyncIterator[SqliteFaissStore]:
        store = _store(conn_string, index)

        async def setup() -> None:
            return None

        store.setup = setup  # type: ignore[attr-defined]
        try:
            yield store
        finally:
            store.close()


def InMemoryStore(*, index: dict[str, Any] | None = None, **_: Any) -> SqliteFaissStore:  # noqa: N802
    """langgraph.store.memory.InMemoryStore's constructor, returning our store."""
    return _store(None, index)
