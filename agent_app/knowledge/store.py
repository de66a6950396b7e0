"""SQLite tables of the knowledge base: collections, documents, chunks and a jieba-segmented FTS5."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent_app.knowledge.chunking import Chunk
from agent_app.knowledge.segment import TERM_BUDGET, collection_token, segment_for_index
from agent_app.knowledge.sharing import SCHEMA as SHARES_SCHEMA
from agent_app.storage.sqlite import connect
from agent_app.vectors import transaction as vector_transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS kb_collections (
    id INTEGER PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL,
    created_at REAL NOT NULL, UNIQUE (owner, name));
CREATE TABLE IF NOT EXISTS kb_documents (
    id INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES kb_collections(id) ON DELETE CASCADE,
    name TEXT NOT NULL, name_key TEXT NOT NULL, content_hash TEXT NOT NULL,
    stored_name TEXT, kind TEXT, size INTEGER NOT NULL DEFAULT 0, pages INTEGER,
    chunk_count INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, error TEXT, embedder TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, UNIQUE (collection_id, name_key));
CREATE INDEX IF NOT EXISTS kb_documents_hash ON kb_documents(collection_id, content_hash);
CREATE TABLE IF NOT EXISTS kb_chunks (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES kb_documents(id) ON DELETE CASCADE,
    collection_id INTEGER NOT NULL, ordinal INTEGER NOT NULL,
    text TEXT NOT NULL, page INTEGER, heading TEXT);
CREATE INDEX IF NOT EXISTS kb_chunks_document ON kb_chunks(document_id);
CREATE VIRTUAL TABLE IF NOT EXISTS kb_fts USING fts5(
    seg, coll, tokenize = 'porter unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE IF NOT EXISTS kb_fts_vocab USING fts5vocab(kb_fts, 'row');
CREATE TABLE IF NOT EXISTS kb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
DOC_COLUMNS = (
    "id, collection_id, name, content_hash, kind, size, pages, chunk_count, status, error, "
    "embedder, created_at, updated_at"
)


class KnowledgeStore:
    """The source of truth; one connection per thread, explicit transactions for writes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self.conn.executescript(SCHEMA + SHARES_SCHEMA)
        # BM25 over the text column only; `coll` (the collection token) is a filter, not evidence.
        if self.conn.execute("SELECT 1 FROM kb_fts_config WHERE k = 'rank'").fetchone() is None:
            self.conn.execute("INSERT INTO kb_fts (kb_fts, rank) VALUES ('rank', 'bm25(1.0, 0.0)')")
        self._df: dict[str, int | None] = {}
        self._df_state: tuple[int, int | None] | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception (all or nothing)."""
        with vector_transaction(self.conn) as conn:
            yield conn

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value from the knowledge base's meta table, or None."""
        row = self.conn.execute("SELECT value FROM kb_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, conn: sqlite3.Connection, key: str, value: str) -> None:
        """Set a meta value inside the caller's transaction."""
        conn.execute("INSERT OR REPLACE INTO kb_meta (key, value) VALUES (?, ?)", (key, value))

    # -- collections ------------------------------------------------------------------------
    def ensure_collection(self, owner: str, name: str) -> int:
        """The id of the user's collection with this name, created if missing."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO kb_collections (owner, name, created_at) VALUES (?, ?, ?)",
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
            "SELECT c.id, c.name, c.created_at, COUNT(d.id), COALESCE(SUM(d.chunk_count), 0) "
            "FROM kb_collections c LEFT JOIN kb_documents d "
            "ON d.collection_id = c.id AND d.status = 'ready' "
            "WHERE c.owner = ? GROUP BY c.id ORDER BY c.name",
            (owner,),
        ).fetchall()
        keys = ("id", "name", "created_at", "documents", "chunks")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def delete_collection(self, conn: sqlite3.Connection, collection_id: int) -> list[int]:
        """Delete a collection's rows; returns the chunk ids whose vectors must go too."""
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM kb_chunks WHERE collection_id = ?", (collection_id,)
            )
        ]
        _delete_fts(conn, ids)
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
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(
            f"SELECT {DOC_COLUMNS} FROM kb_documents WHERE collection_id IN ({marks}) ORDER BY name",
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

    def delete_document(self, conn: sqlite3.Connection, document_id: int) -> list[int]:
        """Delete one document with its chunks and FTS rows; returns its chunk ids."""
        ids = [
            r[0]
            for r in conn.execute("SELECT id FROM kb_chunks WHERE document_id = ?", (document_id,))
        ]
        _delete_fts(conn, ids)
        conn.execute("DELETE FROM kb_chunks WHERE document_id = ?", (document_id,))
        conn.execute("DELETE FROM kb_documents WHERE id = ?", (document_id,))
        return ids

    def insert_document(
        self, conn: sqlite3.Connection, collection_id: int, doc: dict[str, Any]
    ) -> int:
        """Insert a document row inside the caller's transaction; returns its id."""
        now = time.time()
        cur = conn.execute(
            "INSERT INTO kb_documents (collection_id, name, name_key, content_hash, stored_name, kind, "
            "size, pages, chunk_count, status, error, embedder, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        )
        return int(cur.lastrowid or 0)

    def insert_chunks(
        self, conn: sqlite3.Connection, collection_id: int, document_id: int, chunks: list[Chunk]
    ) -> list[int]:
        """Insert chunk rows and their FTS rows; returns the new chunk ids in order."""
        ids = []
        for chunk in chunks:
            cur = conn.execute(
                "INSERT INTO kb_chunks (document_id, collection_id, ordinal, text, page, heading) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (document_id, collection_id, chunk.ordinal, chunk.text, chunk.page, chunk.heading),
            )
            ids.append(int(cur.lastrowid or 0))
        conn.executemany(
            "INSERT INTO kb_fts (rowid, seg, coll) VALUES (?, ?, ?)",
            [
                (
                    cid,
                    ch.seg if ch.seg is not None else segment_for_index(ch.index_text),
                    collection_token(collection_id),
                )
                for cid, ch in zip(ids, chunks, strict=True)
            ],
        )
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
            f"JOIN kb_collections k ON k.id = c.collection_id WHERE c.id IN ({_marks(ids)}) "
            f"AND c.collection_id IN ({_marks(allowed)})",
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
            f"WHERE h.id IN ({_marks(ids)}) AND h.collection_id IN ({_marks(allowed)})",
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

    def doc_freq(self, terms: list[str], cap: int = TERM_BUDGET + 1) -> dict[str, int]:
        """Rows containing each known term, counted up to `cap` (cached until the KB changes)."""
        # Two statements: each is O(log n) alone, together they would scan the table.
        state = (
            self.chunk_count(),
            self.conn.execute("SELECT MAX(id) FROM kb_chunks").fetchone()[0],
        )
        if state != self._df_state or len(self._df) > 100_000:
            self._df, self._df_state = {}, state
        for term in dict.fromkeys(terms):
            if term not in self._df:
                # A bounded count: exact for rare terms, "at least cap" for common ones (fast either way).
                match = 'seg : "' + term.replace('"', '""') + '"'
                row = self.conn.execute(
                    "SELECT COUNT(*) FROM (SELECT rowid FROM kb_fts WHERE kb_fts MATCH ? LIMIT ?)",
                    (match, cap),
                ).fetchone()
                self._df[term] = int(row[0]) or None
        return {t: n for t in terms if (n := self._df.get(t)) is not None}

    def chunk_count(self) -> int:
        """How many chunks are stored, over all collections."""
        return int(self.conn.execute("SELECT COUNT(*) FROM kb_chunks").fetchone()[0])

    def bm25(self, match: str, limit: int) -> list[tuple[int, float, str]]:
        """(chunk id, rank, collection token) for a match expression (see segment); best first."""
        rows = self.conn.execute(
            "SELECT rowid, rank, coll FROM kb_fts WHERE kb_fts MATCH ? ORDER BY rank LIMIT ?",
            (match, limit),
        ).fetchall()
        return [(int(r[0]), float(r[1]), str(r[2])) for r in rows]


def _marks(values: list[int]) -> str:
    return ",".join("?" * len(values))


def _delete_fts(conn: sqlite3.Connection, ids: list[int]) -> None:
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        conn.execute(f"DELETE FROM kb_fts WHERE rowid IN ({','.join('?' * len(part))})", part)


def _doc_dict(row: tuple[Any, ...], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    keys = tuple(k.strip() for k in DOC_COLUMNS.split(",")) + extra
    return dict(zip(keys, row, strict=True))
