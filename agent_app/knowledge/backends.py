"""Where the knowledge base lives: SQLite + FAISS + files in the data directory, or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from agent_app.storage.backend import target_for

if TYPE_CHECKING:
    from agent_app.knowledge.rows import KnowledgeRows
    from agent_app.settings import Settings


class KBVectorSide(Protocol):
    """The chunks' vectors: written in the store's transaction, searched within collections."""

    def stored_model(self) -> tuple[int, str] | None:
        """(dim, model) of the stored vectors, or None."""

    def prepare(self, dim: int, model: str) -> None:
        """Get ready to store this embedder's vectors (or refuse a mismatch)."""

    def add(
        self, conn: Any, chunk_ids: Sequence[int], collection_id: int, vectors: np.ndarray
    ) -> None:
        """Insert vectors inside the caller's transaction."""

    def delete(self, conn: Any, collection_id: int, chunk_ids: Sequence[int] | None = None) -> None:
        """Delete some chunks' vectors, or a whole collection's."""

    def reset(self, conn: Any, dim: int, model: str) -> None:
        """Drop every vector and switch embedder."""

    def search(
        self, query: np.ndarray, collection_ids: Sequence[int], k: int
    ) -> list[tuple[int, float]]:
        """Top-k (chunk id, cosine) inside the collections."""

    def close(self) -> None:
        """Release what is held open."""


class UploadFiles(Protocol):
    """The stored copies of uploaded files."""

    def stage(self, data: bytes, kind: str) -> Any:
        """A copy the parser can read by path (.path, .release(delete=))."""

    def attach(self, conn: Any, document_id: int, path: Path) -> None:
        """Store the file with its document, inside the commit."""

    def discard(self, stored_name: str) -> None:
        """Forget a stored file whose document is gone (after the commit)."""

    def sweep(self, referenced: Callable[[], Iterable[str]]) -> int:
        """Remove copies no document names; returns how many."""

    def names(self) -> list[str]:
        """The stored files' names."""

    def read(self, stored_name: str) -> bytes | None:
        """A stored file's bytes, or None."""

    def put(self, conn: Any, document_id: int, stored_name: str, data: bytes) -> None:
        """Store a copied file with its document."""


def open_storage(settings: Settings, root: Path) -> tuple[KnowledgeRows, KBVectorSide, UploadFiles]:
    """Store, vectors and files: PostgreSQL when a database URL is set, else the data directory."""
    target = target_for(settings, "")
    if isinstance(target, str):
        from agent_app.knowledge.dbfiles import DbFiles
        from agent_app.knowledge.pg_store import PgKnowledgeStore
        from agent_app.knowledge.pg_vectors import PgKBVectors

        pg = PgKnowledgeStore(target)
        return pg, PgKBVectors(pg), DbFiles(pg)
    from agent_app.knowledge.store import KnowledgeStore
    from agent_app.knowledge.uploads import DiskFiles
    from agent_app.knowledge.vectorside import KBVectors

    store = KnowledgeStore(root / "kb.sqlite3")
    return store, KBVectors(store.path, lambda: store.conn), DiskFiles(root / "uploads")
