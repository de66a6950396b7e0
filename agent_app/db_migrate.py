"""`db upgrade`, `db migrate` and `db export`: the PostgreSQL schema, copies between SQLite and it."""

from __future__ import annotations

import logging
from collections import defaultdict
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, cast

from langchain_core.runnables import RunnableConfig

from agent_app.settings import Settings
from agent_app.storage.backend import SharedConnection, is_postgres, target_for

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


def endpoint(spec: str, settings: Settings) -> Settings:
    """Settings whose stores are at `spec`: a postgresql:// URL, or sqlite:///DIR (a data directory)."""
    data = settings.model_dump()
    if is_postgres(spec):
        data["database_url"] = spec
    else:
        data.update(data_dir=sqlite_dir(spec), database_url=None)
    return Settings.model_validate(data)


def _exists(end: Settings, file: str) -> bool:
    """Whether an endpoint has this part (a PostgreSQL database has every table)."""
    return end.database_url is not None or (Path(end.data_dir) / file).exists()


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
        ("knowledge", lambda: _knowledge_service(settings)),
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


def _relational(src: Settings, dst: Settings) -> dict[str, tuple[int, int]]:
    from agent_app.auth.accounts import _SCHEMA as ACCOUNTS
    from agent_app.budget import _SCHEMA as USAGE
    from agent_app.storage.threads import _SCHEMA as THREADS

    counts: dict[str, tuple[int, int]] = {}
    for file, schema in (("app.db", THREADS), ("usage.db", USAGE), ("users.db", ACCOUNTS)):
        if not _exists(src, file):
            continue
        a = SharedConnection(target_for(src, file), schema)
        b = SharedConnection(target_for(dst, file), schema)
        try:
            for table in TABLES[file]:
                counts[table] = _copy_table(a, b, table)
        finally:
            a.close()
            b.close()
    return counts


def _checkpoints(src_end: Settings, dst_end: Settings) -> tuple[int, int]:
    """The latest checkpoint of every thread, with its pending writes."""
    from agent_app.storage.checkpoints import open_checkpointer

    if not _exists(src_end, "checkpoints.db"):
        return 0, 0
    src = open_checkpointer(target_for(src_end, "checkpoints.db"))
    dst = open_checkpointer(target_for(dst_end, "checkpoints.db"))
    try:
        threads = sorted(
            {
                str(c.config["configurable"]["thread_id"])
                for c in src.list(None)
                if not c.config["configurable"].get("checkpoint_ns")
            }
        )
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


def _memories(src_end: Settings, dst_end: Settings) -> tuple[int, int]:
    """Every memory item, its timestamps kept; re-embedded by the destination's index, a page at a time."""
    from langgraph.store.base import PutOp

    from agent_app.wiring import open_memory_store

    if not _exists(src_end, "memory.db"):
        return 0, 0
    src, dst = open_memory_store(src_end), open_memory_store(dst_end)
    total = found = 0
    try:
        with _bulk(dst):
            for ns in src.list_namespaces(limit=1_000_000):
                offset = 0
                while page := src.search(ns, limit=MEMORY_PAGE, offset=offset):
                    dst.batch([PutOp(ns, item.key, item.value) for item in page])
                    _keep_times(dst, ns, page)
                    total, offset = total + len(page), offset + len(page)
        for ns in src.list_namespaces(limit=1_000_000):
            found += len(dst.search(ns, limit=1_000_000))
        return total, found
    finally:
        cast(Any, src).close()
        cast(Any, dst).close()


def _bulk(store: Any) -> AbstractContextManager[None]:
    """PostgreSQL's vector index built once after the copy; nothing special on SQLite."""
    from agent_app.memory.pg_store import PgMemoryStore, bulk_load

    return bulk_load(store) if isinstance(store, PgMemoryStore) else nullcontext()


def _keep_times(store: Any, ns: tuple[str, ...], items: list[Any]) -> None:
    """The copied items keep the source's created/updated times (the puts stamped them now)."""
    from agent_app.memory.store import SqliteFaissStore
    from agent_app.vectors import transaction

    prefix = ".".join(ns)
    if isinstance(store, SqliteFaissStore):
        with transaction(store._conn()) as conn:
            conn.executemany(
                f"UPDATE {store._table} SET created_at = ?, updated_at = ? WHERE ns = ? AND key = ?",
                [
                    (i.created_at.isoformat(), i.updated_at.isoformat(), prefix, i.key)
                    for i in items
                ],
            )
        return
    with store.conn.connection() as conn, conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "UPDATE store SET created_at=%s, updated_at=%s WHERE prefix=%s AND key=%s",
            [(it.created_at, it.updated_at, prefix, it.key) for it in items],
        )


def _knowledge_service(settings: Settings) -> Any:
    from agent_app.knowledge.service import KnowledgeService

    return KnowledgeService(settings)


def _knowledge(src_end: Settings, dst_end: Settings) -> dict[str, tuple[int, int]]:
    from agent_app.knowledge.copy import copy_knowledge

    if not _exists(src_end, "knowledge/kb.sqlite3"):
        return {}
    src, dst = _knowledge_service(src_end), _knowledge_service(dst_end)
    try:
        return copy_knowledge(src, dst)
    finally:
        src.close()
        dst.close()


def migrate(source: str, dest: str, settings: Settings) -> dict[str, tuple[int, int]]:
    """Copy everything from one backend to the other; (source rows, rows there now) per part.

    Either end is a PostgreSQL URL or `sqlite:///DIR`; rows already at the destination are kept.
    """
    src, dst = endpoint(source, settings), endpoint(dest, settings)
    counts = _relational(src, dst)
    counts["checkpoints"] = _checkpoints(src, dst)
    counts["memories"] = _memories(src, dst)
    counts.update(_knowledge(src, dst))
    return counts
