"""The knowledge base's rows in SQL both backends run: collections, documents, chunks, meta."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from agent_app.knowledge.chunking import Chunk
from agent_app.knowledge.segment import TERM_BUDGET
from agent_app.storage.backend import Executor

DOC_COLUMNS = (
    "id, collection_id, name, content_hash, kind, size, pages, chunk_count, status, error, "
    "embedder, created_at, updated_at"
)
Ranked = list[tuple[int, int]]
"""(chunk id, collection id), best first."""


class KnowledgeRows:
    """Portable queries over `conn`; a subclass adds the connection and the lexical index."""

    backend_name = "sqlite"

    @property
    def conn(self) -> Any:
        """An executor of `?`-style SQL for this thread (inside a transaction: the transaction's)."""
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[Any]:
        """All or nothing, one writer at a time."""
        raise NotImplementedError

    def close(self) -> None:
        """Release this store's connection(s)."""

    def reading(self) -> AbstractContextManager[Any]:
        """Several reads in a row on this thread (PostgreSQL: on one connection)."""
        return nullcontext()

    # -- what each backend does its own way ---------------------------------------------------
    def _index_chunks(self, conn: Any, collection_id: int, rows: list[tuple[int, Chunk]]) -> None:
        raise NotImplementedError

    def _unindex_chunks(self, conn: Any, ids: list[int]) -> None:
        raise NotImplementedError

    def doc_freq(self, terms: list[str], cap: int = TERM_BUDGET + 1) -> dict[str, int]:
        """Rows containing each known term, counted up to `cap`."""
        raise NotImplementedError

    def ranked(self, terms: list[str], collection_ids: list[int] | None, limit: int) -> Ranked:
        """BM25 over the lexical index for any of the terms (None: every collection)."""
        raise NotImplementedError

    def segments(self, ids: list[int]) -> dict[int, str]:
        """The indexed segmentation (space-joined tokens) of these chunks."""
        raise NotImplementedError

    def chunk_count(self) -> int:
        """How many chunks are stored, over all collections."""
        return int(self.conn.execute("SELECT COUNT(*) FROM kb_chunks").fetchone()[0])

    # -- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value from the knowledge base's meta table, or None."""
        row = self.conn.execute("SELECT value FROM kb_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, conn: Executor, key: str, value: str) -> None:
        """Set a meta value inside the caller's transaction."""
        conn.execute(
            "INSERT INTO kb_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- collections ------------------------------------------------------------------------
    def ensure_collection(self, owner: str, name: str) -> int:
        """The id of the user's collection with this name, created if missing."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO kb_collections (owner, name, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (owner, name, time.time()),
            )
            row = conn.execute(
                "SELECT id FROM kb_collections WHERE owner = ? AND name = ?", (owner, name)
            ).fetchone()
        return int(row[0])

    def collection_id(self, owner: str, name: str) -> int | None:
        """The id of the user's collection with this name, or None."""
        row = self.conn.execute(
            "SELECT id FROM kb_collections WHERE owner = ? AND name = ?", (owner, name)
        ).fetchone()
        return int(row[0]) if row else None

    def list_collections(self, owner: str) -> list[dict[str, Any]]:
        """The user's collections with document and chunk counts."""
        rows = self.conn.execute(
            "SELECT c.id, c.name, c.created_at, COUNT(d.id), "
            "CAST(COALESCE(SUM(d.chunk_count), 0) AS INTEGER) "
            "FROM kb_collections c LEFT JOIN kb_documents d "
            "ON d.collection_id = c.id AND d.status = 'ready' "
            "WHERE c.owner = ? GROUP BY c.id ORDER BY c.name",
            (owner,),
        ).fetchall()
        keys = ("id", "name", "created_at", "documents", "chunks")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def delete_collection(self, conn: Executor, collection_id: int) -> list[int]:
        """Delete a collection's rows; returns the chunk ids whose vectors must go too."""
        ids = [
            int(r[0])
            for r in conn.execute(
                "SELECT id FROM kb_chunks WHERE collection_id = ?", (collection_id,)
            ).fetchall()
        ]
        self._unindex_chunks(conn, ids)
        conn.execute("DELETE FROM kb_collections WHERE id = ?", (collection_id,))
        return ids

    # -- documents --------------------------------------------------------------------------
    def find_document(
        self, collection_id: int, *, name_key: str | None = None, content_hash: str | None = None
    ) -> dict[str, Any] | None:
        """A document of the collection by name key or by content hash, or None."""
        where = "name_key = ?" if name_key is not None else "content_hash = ? AND status = 'ready'"
        arg = name_key if name_key is not None else content_hash
        row = self.conn.execute(
            f"SELECT {DOC_COLUMNS}, stored_name FROM kb_documents WHERE collection_id = ? AND {where}",
            (collection_id, arg),
        ).fetchone()
        return _doc_dict(row, extra=("stored_name",)) if row else None

    def list_documents(self, collection_ids: Iterable[int]) -> list[dict[str, Any]]:
        """The documents of these collections."""
        ids = list(collection_ids)
        if not ids:
            return []
        rows = self.conn.execute(
            f"SELECT {DOC_COLUMNS} FROM kb_documents WHERE collection_id IN ({marks(ids)}) "
            "ORDER BY name",
            ids,
        ).fetchall()
        return [_doc_dict(row) for row in rows]

    def stored_names(self, collection_id: int) -> list[str]:
        """The stored file names of a collection's documents."""
        rows = self.conn.execute(
            "SELECT stored_name FROM kb_documents WHERE collection_id = ? AND stored_name IS NOT NULL",
            (collection_id,),
        ).fetchall()
        return [r[0] for r in rows]

    def all_stored_names(self) -> list[str]:
        """Every stored upload file a document row names (all users: for the orphan sweep)."""
        rows = self.conn.execute(
            "SELECT stored_name FROM kb_documents WHERE stored_name IS NOT NULL"
        ).fetchall()
        return [r[0] for r in rows]

    def is_stored_name(self, stored_name: str) -> bool:
        """Whether some document's stored file has this name."""
        row = self.conn.execute(
            "SELECT 1 FROM kb_documents WHERE stored_name = ? LIMIT 1", (stored_name,)
        ).fetchone()
        return row is not None

    def delete_document(self, conn: Executor, document_id: int) -> list[int]:
        """Delete one document with its chunks and index rows; returns its chunk ids."""
        ids = [
            int(r[0])
            for r in conn.execute(
                "SELECT id FROM kb_chunks WHERE document_id = ?", (document_id,)
            ).fetchall()
        ]
        self._unindex_chunks(conn, ids)
        conn.execute("DELETE FROM kb_chunks WHERE document_id = ?", (document_id,))
        conn.execute("DELETE FROM kb_documents WHERE id = ?", (document_id,))
        return ids

    def insert_document(self, conn: Executor, collection_id: int, doc: dict[str, Any]) -> int:
        """Insert a document row inside the caller's transaction; returns its id."""
        now = time.time()
        row = conn.execute(
            "INSERT INTO kb_documents (collection_id, name, name_key, content_hash, stored_name, kind, "
            "size, pages, chunk_count, status, error, embedder, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                collection_id,
                doc["name"],
                doc["name_key"],
                doc["content_hash"],
                doc.get("stored_name"),
                doc.get("kind"),
                doc.get("size", 0),
                doc.get("pages"),
                doc.get("chunk_count", 0),
                doc["status"],
                doc.get("error"),
                doc.get("embedder"),
                now,
                now,
            ),
        ).fetchone()
        return int(row[0])

    def insert_chunks(
        self, conn: Executor, collection_id: int, document_id: int, chunks: list[Chunk]
    ) -> list[int]:
        """Insert chunk rows and their lexical index; returns the new chunk ids in order."""
        ids = []
        for chunk in chunks:
            row = conn.execute(
                "INSERT INTO kb_chunks (document_id, collection_id, ordinal, text, page, heading) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (document_id, collection_id, chunk.ordinal, chunk.text, chunk.page, chunk.heading),
            ).fetchone()
            ids.append(int(row[0]))
        self._index_chunks(conn, collection_id, list(zip(ids, chunks, strict=True)))
        return ids

    # -- chunks -----------------------------------------------------------------------------
    def chunks_by_ids(
        self, ids: list[int], collection_ids: Iterable[int]
    ) -> dict[int, dict[str, Any]]:
        """Chunks by id, only those inside the given collections (ids alone prove no ownership)."""
        allowed = list(collection_ids)
        if not ids or not allowed:
            return {}
        rows = self.conn.execute(
            "SELECT c.id, c.text, c.page, c.heading, c.ordinal, d.name, k.name, c.collection_id "
            "FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id "
            f"JOIN kb_collections k ON k.id = c.collection_id WHERE c.id IN ({marks(ids)}) "
            f"AND c.collection_id IN ({marks(allowed)})",
            [*ids, *allowed],
        ).fetchall()
        keys = "chunk_id text page heading ordinal source collection collection_id".split()
        return {row[0]: dict(zip(keys, row, strict=True)) for row in rows}

    def neighbours(
        self, ids: list[int], collection_ids: Iterable[int]
    ) -> dict[int, tuple[dict[str, Any] | None, dict[str, Any] | None]]:
        """For each chunk (inside the collections): the chunks just before and after it in its document."""
        allowed = list(collection_ids)
        if not ids or not allowed:
            return {}
        rows = self.conn.execute(
            "SELECT h.id, n.ordinal - h.ordinal, n.id, n.text, n.page FROM kb_chunks h "
            "JOIN kb_chunks n ON n.document_id = h.document_id "
            "AND n.ordinal IN (h.ordinal - 1, h.ordinal + 1) "
            f"WHERE h.id IN ({marks(ids)}) AND h.collection_id IN ({marks(allowed)})",
            [*ids, *allowed],
        ).fetchall()
        out: dict[int, tuple[dict[str, Any] | None, dict[str, Any] | None]] = {}
        for hit, step, nid, text, page in rows:
            before, after = out.get(hit, (None, None))
            row = {"id": nid, "text": text, "page": page}
            out[hit] = (row, after) if step < 0 else (before, row)
        return out

    def document_chunks(self, document_id: int, limit: int) -> list[dict[str, Any]]:
        """The first `limit` chunks of a document, in order."""
        rows = self.conn.execute(
            "SELECT id, ordinal, text, page, heading FROM kb_chunks WHERE document_id = ? "
            "ORDER BY ordinal LIMIT ?",
            (document_id, limit),
        ).fetchall()
        keys = ("chunk_id", "ordinal", "text", "page", "heading")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def iter_all_chunks(self, batch: int = 256) -> Iterator[list[tuple[int, int, str, str | None]]]:
        """(id, collection_id, text, heading) in id order, in batches (for re-indexing)."""
        last = 0
        while True:
            rows = self.conn.execute(
                "SELECT id, collection_id, text, heading FROM kb_chunks WHERE id > ? ORDER BY id LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def has_chunks(self) -> bool:
        """Whether any chunk is stored."""
        return self.conn.execute("SELECT 1 FROM kb_chunks LIMIT 1").fetchone() is not None


def marks(values: list[Any]) -> str:
    """`?, ?, …` for an IN list of these values."""
    return ",".join("?" * len(values))


def _doc_dict(row: tuple[Any, ...], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    keys = tuple(k.strip() for k in DOC_COLUMNS.split(",")) + extra
    return dict(zip(keys, row, strict=True))
