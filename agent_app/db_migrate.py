"""`db upgrade` and `db migrate`: create the PostgreSQL schema, copy a SQLite data directory into it."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any, cast

from langchain_core.runnables import RunnableConfig

from agent_app.settings import Settings
from agent_app.storage.backend import SharedConnection

log = logging.getLogger(__name__)
# The relational tables of each SQLite file, in the order rows can be copied.
TABLES = {
    "app.db": ("threads", "turn_notes", "user_prefs"),
    "usage.db": ("usage_daily", "recent_requests", "limits"),
    "users.db": ("users", "login_failures", "sessions"),
}
MEMORY_PAGE = 500


def sqlite_dir(source: str) -> Path:
    """The data directory of a `sqlite:///DIR` source (`sqlite:///./DIR`: relative), or a path."""
    path = source.removeprefix("sqlite://")
    return Path(path[1:] if path.startswith("/./") else path)


def upgrade(settings: Settings) -> list[str]:
    """Create or migrate every table of the configured database (what each store does on open)."""
    from agent_app.auth import open_accounts
    from agent_app.budget import open_ledger
    from agent_app.storage.backend import target_for
    from agent_app.storage.checkpoints import open_checkpointer
    from agent_app.storage.threads import ThreadRegistry
    from agent_app.wiring import open_memory_store

    done = []
    for name, opener in (
        ("conversations", lambda: ThreadRegistry(target_for(settings, "app.db"))),
        ("usage", lambda: open_ledger(settings)),
        ("accounts", lambda: open_accounts(settings)),
        ("memory", lambda: open_memory_store(settings)),
    ):
        opener().close()
        done.append(name)
    saver = open_checkpointer(target_for(settings, "checkpoints.db"))
    cast(Any, saver).conn.close()
    done.append("checkpoints")
    return done


def _copy_table(src: SharedConnection, dst: SharedConnection, table: str) -> tuple[int, int]:
    rows = src.backend.execute(f"SELECT * FROM {table}").fetchall()
    if rows:
        marks = ",".join("?" * len(rows[0]))
        with dst.backend.transaction() as tx:
            for r in rows:
                tx.execute(f"INSERT INTO {table} VALUES ({marks}) ON CONFLICT DO NOTHING", r)
    copied = dst.backend.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return len(rows), int(copied)


def _relational(data_dir: Path, url: str) -> dict[str, tuple[int, int]]:
    from agent_app.auth.accounts import _SCHEMA as ACCOUNTS
    from agent_app.budget import _SCHEMA as USAGE
    from agent_app.storage.threads import _SCHEMA as THREADS

    counts: dict[str, tuple[int, int]] = {}
    for file, schema in (("app.db", THREADS), ("usage.db", USAGE), ("users.db", ACCOUNTS)):
        if not (data_dir / file).exists():
            continue
        src, dst = SharedConnection(data_dir / file, schema), SharedConnection(url, schema)
        try:
            for table in TABLES[file]:
                counts[table] = _copy_table(src, dst, table)
        finally:
            src.close()
            dst.close()
    return counts


def _checkpoints(data_dir: Path, url: str) -> tuple[int, int]:
    """The latest checkpoint of every thread, with its pending writes."""
    from agent_app.storage.checkpoints import open_checkpointer

    if not (data_dir / "checkpoints.db").exists():
        return 0, 0
    src, dst = open_checkpointer(data_dir / "checkpoints.db"), open_checkpointer(url)
    try:
        threads = [
            r[0]
            for r in cast(Any, src)
            .conn.execute("SELECT DISTINCT thread_id FROM checkpoints WHERE checkpoint_ns = ''")
            .fetchall()
        ]
        for thread_id in threads:
            tup = src.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
            if tup is None:
                continue
            config: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
            saved = dst.put(
                config, tup.checkpoint, tup.metadata, tup.checkpoint["channel_versions"]
            )
            by_task: dict[str, list[tuple[str, Any]]] = defaultdict(list)
            for task_id, channel, value in tup.pending_writes or []:
                by_task[task_id].append((channel, value))
            for task_id, writes in by_task.items():
                dst.put_writes(saved, writes, task_id)
        found = sum(
            dst.get_tuple({"configurable": {"thread_id": t, "checkpoint_ns": ""}}) is not None
            for t in threads
        )
        return len(threads), found
    finally:
        cast(Any, src).conn.close()
        cast(Any, dst).conn.close()


def _memories(settings: Settings, url: str) -> tuple[int, int]:
    """Every memory item, its timestamps kept; re-embedded by the destination's index."""
    from agent_app.memory.pg_store import open_pg_memory_store
    from agent_app.memory.store import SqliteFaissStore
    from agent_app.wiring import memory_embedder

    if not (settings.data_dir / "memory.db").exists():
        return 0, 0
    embedder = memory_embedder(settings)
    src = SqliteFaissStore(settings.data_dir / "memory.db", embedder, index_fields=("text",))
    dst = open_pg_memory_store(url, embedder)
    total = found = 0
    try:
        for ns in src.list_namespaces(limit=1_000_000):
            offset = 0
            while page := src.search(ns, limit=MEMORY_PAGE, offset=offset):
                for item in page:
                    dst.put(ns, item.key, item.value)
                    with cast(Any, dst.conn).connection() as conn:
                        conn.execute(
                            "UPDATE store SET created_at=%s, updated_at=%s "
                            "WHERE prefix=%s AND key=%s",
                            (item.created_at, item.updated_at, ".".join(ns), item.key),
                        )
                total, offset = total + len(page), offset + len(page)
            found += len(dst.search(ns, limit=1_000_000))
        return total, found
    finally:
        src.close()
        dst.close()


def migrate(source: str, url: str, settings: Settings) -> dict[str, tuple[int, int]]:
    """Copy a SQLite data directory into the database; (source rows, rows there now) per part."""
    data_dir = sqlite_dir(source)
    counts = _relational(data_dir, url)
    counts["checkpoints"] = _checkpoints(data_dir, url)
    counts["memories"] = _memories(settings.with_overrides(data_dir=data_dir), url)
    return counts
