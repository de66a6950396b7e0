"""The knowledge base's vectors in pgvector: one row per chunk, an HNSW index, filtered by collection."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from agent_app.storage.backend import Executor
from agent_app.storage.pg import INDEX_BUILD_MEMORY
from agent_app.vectors import EmbeddingMismatchError

log = logging.getLogger(__name__)
HNSW = (
    "CREATE INDEX IF NOT EXISTS kb_vectors_hnsw ON kb_vectors "
    "USING hnsw (embedding vector_cosine_ops)"
)
BATCH = 2_000


def table_sql(dim: int) -> str:
    """The vector table for one embedder's dimension (its rows go with their chunks)."""
    return (
        "CREATE TABLE IF NOT EXISTS kb_vectors (chunk_id BIGINT PRIMARY KEY "
        "REFERENCES kb_chunks(id) ON DELETE CASCADE, collection_id BIGINT NOT NULL, "
        f"embedding vector({int(dim)}) NOT NULL)"
    )


def pgvector_ready(pool: Any) -> bool:
    """Whether the vector extension is installed in the database (created if we may)."""
    with pool.connection() as conn:
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone():
            return True
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except Exception as exc:  # no such extension, or no right to create it: keyword search
            log.warning("knowledge base: pgvector unavailable (%s)", type(exc).__name__)
            return False
    return True


class PgKBVectors:
    """The same calls as KBVectors; writes join the store's transaction, searches read the pool."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.enabled = pgvector_ready(store.backend.pool)
        self._ready: tuple[int, str] | None = None
        if not self.enabled:
            log.warning("knowledge base: no pgvector; search is by keywords only")

    def stored_model(self) -> tuple[int, str] | None:
        """(dim, model) of the stored vectors, or None before the first document."""
        dim = self.store.get_meta("vec_dim")
        return (int(dim), self.store.get_meta("vec_model") or "") if dim else None

    def prepare(self, dim: int, model: str) -> None:
        """Create the table for this embedder (before the write transaction), or refuse a mismatch."""
        if not self.enabled or self._ready == (dim, model):
            return
        with self.store.transaction() as tx:
            stored = self.stored_model()
            if stored is not None and stored != (dim, model):
                if tx.execute("SELECT 1 FROM kb_vectors LIMIT 1").fetchone() is not None:
                    raise EmbeddingMismatchError(f"stored {stored}, asked {(dim, model)}")
                self.reset(tx, dim, model)
            elif stored is None:
                self.reset(tx, dim, model)
            tx.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
            tx.execute(HNSW)
        self._ready = (dim, model)

    def add(
        self, conn: Executor, chunk_ids: Sequence[int], collection_id: int, vectors: np.ndarray
    ) -> None:
        """Insert the chunks' vectors inside the caller's transaction."""
        if not self.enabled or not len(chunk_ids):
            return
        matrix = np.asarray(vectors, dtype=np.float32)
        dim = matrix.shape[1]
        for start in range(0, len(chunk_ids), BATCH):
            part = matrix[start : start + BATCH]
            conn.execute(
                "INSERT INTO kb_vectors (chunk_id, collection_id, embedding) "
                "SELECT id, ?, CAST((CAST(? AS real[]))[(n - 1) * ? + 1 : n * ?] AS vector) "
                "FROM unnest(CAST(? AS bigint[])) WITH ORDINALITY AS u(id, n)",
                (collection_id, part.ravel().tolist(), dim, dim,
                 [int(c) for c in chunk_ids[start : start + BATCH]]),
            )  # fmt: skip

    def delete(
        self, conn: Executor, collection_id: int, chunk_ids: Sequence[int] | None = None
    ) -> None:
        """Nothing to do: a chunk's vector row goes with the chunk (ON DELETE CASCADE)."""

    def reset(self, conn: Executor, dim: int, model: str) -> None:
        """Drop every vector and make the table for another embedder (inside the caller's transaction)."""
        if not self.enabled:
            return
        conn.execute("DROP TABLE IF EXISTS kb_vectors")
        conn.execute(table_sql(dim))
        conn.execute("CREATE INDEX kb_vectors_collection ON kb_vectors(collection_id)")
        self.store.set_meta(conn, "vec_dim", str(int(dim)))
        self.store.set_meta(conn, "vec_model", model)
        self._ready = None  # the HNSW index is built by the next prepare, over all the rows

    def search(
        self, query: np.ndarray, collection_ids: Sequence[int], k: int
    ) -> list[tuple[int, float]]:
        """Top-k (chunk_id, cosine) within the collections; [] when no vectors match this embedder."""
        stored = self.stored_model() if self.enabled else None
        if stored is None or stored[0] != query.shape[-1] or not collection_ids or k <= 0:
            return []
        vector = "[" + ",".join(map(repr, np.asarray(query, dtype=np.float32).tolist())) + "]"
        ids = [int(c) for c in collection_ids]
        base = (
            "SELECT chunk_id, 1 - (embedding <=> CAST(%s AS vector)) FROM kb_vectors "
            "WHERE collection_id = ANY(%s) ORDER BY {order} LIMIT %s"
        )
        with self._connection() as conn, conn.transaction():
            # HNSW returns ef_search candidates before the collection filter: ask for enough.
            ef = str(min(1000, max(40, 2 * k)))
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (ef,))
            rows = conn.execute(
                base.format(order="embedding <=> CAST(%s AS vector)"), (vector, ids, vector, k)
            ).fetchall()
            if len(rows) < k:  # the approximate scan missed some of these collections' vectors
                rows = conn.execute(
                    base.format(order="(embedding <=> CAST(%s AS vector)) + 0"),
                    (vector, ids, vector, k),
                ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """The connection of the store's reading session on this thread, else a pooled one."""
        session = self.store.conn
        if hasattr(session, "conn"):
            yield session.conn
            return
        with self.store.backend.pool.connection() as conn:
            yield conn

    def close(self) -> None:
        """Nothing held open between calls."""
