"""Long-term memory on PostgreSQL: LangGraph's PostgresStore, vectors in pgvector from our embedder."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from langchain_core.embeddings import Embeddings
from langgraph.store.base import Op, Result, SearchItem, SearchOp
from langgraph.store.postgres import PostgresStore
from langgraph.store.postgres.base import VECTOR_MIGRATIONS

from agent_app.errors import ProviderUnavailableError
from agent_app.memory.filters import matches
from agent_app.memory.pg_hybrid import PgLexical, pg_hybrid_search
from agent_app.memory.pg_reembed import reembed_on_change
from agent_app.storage.pg import INDEX_BUILD_MEMORY, open_pool, schema_lock

log = logging.getLogger(__name__)
UNEMBEDDED_SCAN = 1000  # items looked at to fill a short page with unembedded ones
INLINE_MAX_DIMS = 1536  # 6 KB of floats: still inside an 8 KB page with the row's other columns
VECTOR_INDEX = "store_vectors_embedding_idx"  # PostgresStore's HNSW index (its migrations name it)


class PgMemoryStore(PostgresStore):
    """PostgresStore on its own pool; value filters are applied here, as in SqliteFaissStore.

    PostgresStore compares filter values as JSON in SQL, which differs from the SQLite store on
    dotted paths, numbers against mixed types and infinities; one semantics for both backends.
    """

    model: str = ""
    lexical: PgLexical

    def hybrid_search(
        self,
        namespace: Sequence[str],
        query: str,
        limit: int = 5,
        *,
        filter: dict[str, Any] | None = None,
        gated: bool = True,
    ) -> tuple[list[SearchItem], bool]:
        """Lexical + vector search with the SQLite store's calibrated scores and floor."""
        return pg_hybrid_search(self, namespace, query, limit, filter=filter, gated=gated)

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """PostgresStore's batch, with searches that carry a value filter answered by `_filtered`."""
        ops = list(ops)
        results: list[Result] = [None] * len(ops)
        rest = [(i, op) for i, op in enumerate(ops) if not (isinstance(op, SearchOp) and op.filter)]
        for i, op in enumerate(ops):  # reads before the batch's writes, as the SQLite store
            if isinstance(op, SearchOp) and op.filter:
                results[i] = self._filtered(op)
        if rest:
            for (i, op), result in zip(rest, super().batch([op for _, op in rest]), strict=True):
                results[i] = self._with_unembedded(op, result)
        return results

    def _with_unembedded(self, op: Op, result: Result) -> Result:
        """LangGraph's contract: items with nothing embedded fill a query's page, unscored."""
        if not (isinstance(op, SearchOp) and op.query and self.index_config):
            return result
        page = [it for it in cast(list[Any], result or []) if isinstance(it, SearchItem)]
        if len(page) >= op.limit:
            return page
        listed = super().batch([SearchOp(op.namespace_prefix, op.filter, UNEMBEDDED_SCAN, 0)])[0]
        seen = {(it.namespace, it.key) for it in page}
        others = [it for it in cast(list[Any], listed or []) if isinstance(it, SearchItem)]
        others = [it for it in others if (it.namespace, it.key) not in seen]
        if not others:
            return page
        with cast(Any, self.conn).connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT prefix, key FROM store_vectors WHERE prefix = ANY(%s)",
                (list({".".join(it.namespace) for it in others}),),
            ).fetchall()
        embedded = {(tuple(p.split(".")), k) for p, k in rows}
        fill = [it for it in others if (it.namespace, it.key) not in embedded]
        return page + fill[: op.limit - len(page)]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Run `batch` on a worker thread."""
        return await asyncio.to_thread(self.batch, list(ops))

    def _filtered(self, op: SearchOp) -> list[SearchItem]:
        """Best-first (or newest-first) items matching the filter, widening the page until enough."""
        want, k = op.offset + op.limit, max(op.offset + op.limit, 1) * 4
        while True:
            page = super().batch([SearchOp(op.namespace_prefix, None, k, 0, op.query)])[0]
            assert isinstance(page, list)
            hits = [
                it for it in page if isinstance(it, SearchItem) and matches(it.value, op.filter)
            ]
            if len(hits) >= want or len(page) < k:
                return hits[op.offset : want]
            k *= 4

    def close(self) -> None:
        """Close the store's connections."""
        self.conn.close()


class ReportedEmbeddings(Embeddings):
    """Our embedder as PostgresStore calls it: a failed write is a clear error, as on SQLite."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """The texts' vectors; a provider outage becomes ProviderUnavailableError."""
        try:
            return self.inner.embed_documents(texts)
        except Exception as exc:  # nothing is written: PostgresStore embeds before its inserts
            reason = type(exc).__name__
            raise ProviderUnavailableError(
                reason, key="memory.embed_failed", reason=reason
            ) from exc

    def embed_query(self, text: str) -> list[float]:
        """The query's vector (a failure reaches the caller, which falls back to lexical)."""
        return self.inner.embed_query(text)


def keep_vectors_inline(pool: Any, dims: int) -> None:
    """Vectors stored in their row (PLAIN), not TOASTed: a recall scans a user's vectors.

    pgvector stores a vector EXTERNAL by default, so one of 512 floats (2 KB) goes out of line
    and every comparison fetches it from the TOAST table: half of a recall's time at 1,000
    memories. Rows written from now on stay inline; a vector over INLINE_MAX_DIMS would not fit
    a page, so those keep the default.
    """
    if dims > INLINE_MAX_DIMS:
        return
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = to_regclass('store_vectors')"
            " AND attname = 'embedding'"
        ).fetchone()
        if row is not None and row[0] != "p":
            conn.execute("ALTER TABLE store_vectors ALTER COLUMN embedding SET STORAGE PLAIN")


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
            index = {"dims": embedder_dims(embedder), "embed": ReportedEmbeddings(embedder)}
            if index_fields:
                index["fields"] = list(index_fields)
        else:
            log.warning("memory store: pgvector is not installed; search is by filter only")
    store = PgMemoryStore(pool, index=index)  # type: ignore[arg-type]
    store.model = str(getattr(embedder, "name", "") or getattr(embedder, "model", "") or "")
    store.lexical = PgLexical()
    with schema_lock(pool):
        store.setup()
        ensure_vector_index(store)
    if index is not None and list(index.get("fields") or []) == ["text"]:
        reembed_on_change(store, pool, int(index["dims"]), store.model)
    if index is not None:  # after a re-embed, which may have changed the column's type
        keep_vectors_inline(pool, int(index["dims"]))  # ALTER TABLE takes its own lock
    return store


@contextmanager
def bulk_load(store: PostgresStore) -> Iterator[None]:
    """Many writes at once (a migration, a benchmark): the vector index is built once, at the end.

    Each put into an HNSW index walks the graph: at 100k memories that is tens of milliseconds per
    item, while one build over the loaded rows takes a few minutes. Searches during the load stay
    right, only slower (no index). A load that fails still gets its index back when the database
    is reachable (else at the store's next open, `ensure_vector_index`), and its own error wins.
    """
    create = _index_statement(store)
    if create is None:
        yield
        return
    with cast(Any, store.conn).connection() as conn:
        conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {VECTOR_INDEX}")
    try:
        yield
    except BaseException:
        try:
            _build_index(store, create)
        except Exception:  # the load's error is the one to report
            log.warning("memory store: vector index not rebuilt after a failed load")
        raise
    _build_index(store, create)


def ensure_vector_index(store: PostgresStore) -> None:
    """Rebuild the vector index when it is missing or invalid (a bulk load killed midway)."""
    create = _index_statement(store)
    if create is None:
        return
    with cast(Any, store.conn).connection() as conn:
        row = conn.execute(
            "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%s)",
            (VECTOR_INDEX,),
        ).fetchone()
        if row is not None and row[0]:
            return
        log.warning("memory store: vector index missing or invalid, rebuilding it")
        conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {VECTOR_INDEX}")
    _build_index(store, create)


def _build_index(store: PostgresStore, create: str) -> None:
    with cast(Any, store.conn).connection() as conn:
        conn.execute(f"SET maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
        try:
            conn.execute(create)
        finally:
            conn.execute("RESET maintenance_work_mem")


def _index_statement(store: PostgresStore) -> str | None:
    """PostgresStore's own CREATE INDEX for its vectors, with its parameters (as its setup runs it)."""
    for migration in VECTOR_MIGRATIONS:
        if VECTOR_INDEX not in migration.sql:
            continue
        if not store.index_config or (migration.condition and not migration.condition(store)):
            return None
        params = {k: v(store) if callable(v) else v for k, v in (migration.params or {}).items()}
        return migration.sql % params
    return None
