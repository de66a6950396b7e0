"""The knowledge base's vector side: agent_app.vectors table `kb` (owner = collection, ref = chunk)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from agent_app.vectors import (
    EmbeddingMismatchError,
    VectorIndex,
    delete_vectors,
    ensure_schema,
    insert_vectors,
    reset_vectors,
    transaction,
)
from agent_app.vectors.db import get_meta

log = logging.getLogger(__name__)
NAME = "kb"


class KBVectors:
    """Writes join the caller's SQLite transaction; searches go to a lazily opened FAISS index."""

    def __init__(self, db_path: Path, connection: Callable[[], sqlite3.Connection]) -> None:
        self.db_path = db_path
        self._connection = connection  # this thread's connection to the knowledge database
        with transaction(connection()):
            ensure_schema(connection(), NAME)
        self._index: VectorIndex | None = None
        self._lock = threading.Lock()

    def stored_model(self) -> tuple[int, str] | None:
        """(dim, model) of the stored vectors, or None before the first document."""
        meta = get_meta(self._connection(), NAME)
        return (int(meta["dim"]), meta.get("model", "")) if "dim" in meta else None

    def prepare(self, dim: int, model: str) -> None:
        """Open the index for this embedder before a write transaction (it records dim/model)."""
        with self._lock:
            index = self._index
            if index is not None and (index.dim, index.model) == (dim, model):
                return
            if index is not None:
                index.close(snapshot=False)
                self._index = None
            try:
                self._index = VectorIndex(self.db_path, NAME, dim=dim, model=model)
            except EmbeddingMismatchError:
                if not self._is_empty():
                    raise
                # No vectors left from the old embedder: switch the empty table over.
                with transaction(self._connection()) as conn:
                    reset_vectors(conn, NAME, dim, model)
                self._index = VectorIndex(self.db_path, NAME, dim=dim, model=model)

    def _is_empty(self) -> bool:
        row = self._connection().execute(f"SELECT 1 FROM vec_{NAME} LIMIT 1").fetchone()
        return row is None

    def add(
        self,
        conn: sqlite3.Connection,
        chunk_ids: Sequence[int],
        collection_id: int,
        vectors: np.ndarray,
    ) -> None:
        """Insert the chunks' vectors inside the caller's transaction."""
        owner = str(collection_id)
        insert_vectors(conn, NAME, [(owner, str(c), vectors[n]) for n, c in enumerate(chunk_ids)])

    def delete(
        self, conn: sqlite3.Connection, collection_id: int, chunk_ids: Sequence[int] | None = None
    ) -> None:
        """Delete some chunks' vectors, or the whole collection's when chunk_ids is None."""
        owner = str(collection_id)
        if chunk_ids is None:
            delete_vectors(conn, NAME, owner=owner)
        elif chunk_ids:
            delete_vectors(conn, NAME, owner=owner, refs=[str(c) for c in chunk_ids])

    def reset(self, conn: sqlite3.Connection, dim: int, model: str) -> None:
        """Drop every vector and switch to another embedder (inside the re-index transaction)."""
        reset_vectors(conn, NAME, dim, model)

    def search(
        self, query: np.ndarray, collection_ids: Sequence[int], k: int
    ) -> list[tuple[int, float]]:
        """Top-k (chunk_id, cosine) within the collections; [] when no vectors match this embedder."""
        index = self._open_for_search(query.shape[-1])
        if index is None or not collection_ids:
            return []
        owners = {str(c) for c in collection_ids}
        try:
            # The unfiltered search is a shortcut for when these owners hold every vector; the
            # counts may be stale (another user's rows land at the refresh inside search), so
            # the hits decide: any foreign one means the filtered search must run after all.
            hits = None
            if sum(index.count(o) for o in owners) == index.count():
                hits = index.search(query, k, owner=None)
            if hits is None or any(hit.owner not in owners for hit in hits):
                hits = index.search(query, k, owner=sorted(owners))
        except EmbeddingMismatchError:  # another process re-indexed with another embedder
            self.close()
            return []
        return [(int(hit.ref), hit.score) for hit in hits if hit.owner in owners]

    def _open_for_search(self, dim: int) -> VectorIndex | None:
        if self._index is not None:
            return self._index if self._index.dim == dim else None
        stored = self.stored_model()
        if stored is None or stored[0] != dim:
            return None
        try:
            self.prepare(*stored)
        except EmbeddingMismatchError:
            return None
        return self._index

    def close(self) -> None:
        """Close the vector index (a final snapshot is written if anything changed)."""
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None
