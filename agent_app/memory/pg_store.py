"""Long-term memory on PostgreSQL: LangGraph's PostgresStore, vectors in pgvector from our embedder."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from langchain_core.embeddings import Embeddings
from langgraph.store.postgres import PostgresStore

from agent_app.storage.pg import open_pool, schema_lock

log = logging.getLogger(__name__)


class PgMemoryStore(PostgresStore):
    """PostgresStore on its own pool, with the embedder's name kept for doctor and docs."""

    model: str = ""

    def close(self) -> None:
        """Close the store's connections."""
        self.conn.close()


def has_pgvector(pool: Any) -> bool:
    """Whether the server can create the vector extension (or already has it)."""
    with pool.connection() as conn:
        row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
    return row is not None


def embedder_dims(embedder: Embeddings) -> int:
    """The embedder's vector size (asked once when it does not say)."""
    return int(getattr(embedder, "dim", 0) or len(embedder.embed_query("dim")))


def open_pg_memory_store(
    url: str, embedder: Embeddings | None, *, index_fields: Sequence[str] | None = ("text",)
) -> PgMemoryStore:
    """The store on the database at `url`; semantic search when pgvector is there and an embedder given.

    Without pgvector (e.g. Debian's PostgreSQL packages) items are still stored and searched by
    namespace and filter; a log line says that search is not semantic.
    """
    pool = open_pool(url)
    index: dict[str, Any] | None = None
    if embedder is not None:
        if has_pgvector(pool):
            index = {"dims": embedder_dims(embedder), "embed": embedder}
            if index_fields:
                index["fields"] = list(index_fields)
        else:
            log.warning("memory store: pgvector is not installed; search is by filter only")
    store = PgMemoryStore(pool, index=index)  # type: ignore[arg-type]
    store.model = str(getattr(embedder, "name", "") or getattr(embedder, "model", "") or "")
    with schema_lock(pool):
        store.setup()
    return store
