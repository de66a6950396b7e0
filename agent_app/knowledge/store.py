"""SQLite tables of the knowledge base: collections, documents, chunks and a jieba-segmented FTS5."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agent_app.knowledge.chunking import Chunk
from agent_app.knowledge.rows import KnowledgeRows, Ranked, marks
from agent_app.knowledge.segment import (
    TERM_BUDGET,
    collection_token,
    match_expression,
    segment_for_index,
)
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


class KnowledgeStore(KnowledgeRows):
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

    # -- the FTS5 index -----------------------------------------------------------------------
    def _index_chunks(
        self, conn: sqlite3.Connection, collection_id: int, rows: list[tuple[int, Chunk]]
    ) -> None:
        conn.executemany(
            "INSERT INTO kb_fts (rowid, seg, coll) VALUES (?, ?, ?)",
            [
                (
                    cid,
                    ch.seg if ch.seg is not None else segment_for_index(ch.index_text),
                    collection_token(collection_id),
                )
                for cid, ch in rows
            ],
        )

    def _unindex_chunks(self, conn: sqlite3.Connection, ids: list[int]) -> None:
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            conn.execute(f"DELETE FROM kb_fts WHERE rowid IN ({marks(part)})", part)

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

    def ranked(self, terms: list[str], collection_ids: list[int] | None, limit: int) -> Ranked:
        """FTS5's BM25 for any of the terms, within the collections' `coll` tokens."""
        match = match_expression(terms, collection_ids)
        if match is None:
            return []
        try:
            rows = self.bm25(match, limit)
        except sqlite3.OperationalError:  # an expression FTS5 cannot parse: no keyword hits
            return []
        return [(chunk_id, int(coll[1:])) for chunk_id, _, coll in rows]

    def bm25(self, match: str, limit: int) -> list[tuple[int, float, str]]:
        """(chunk id, rank, collection token) for a match expression (see segment); best first."""
        rows = self.conn.execute(
            "SELECT rowid, rank, coll FROM kb_fts WHERE kb_fts MATCH ? ORDER BY rank LIMIT ?",
            (match, limit),
        ).fetchall()
        return [(int(r[0]), float(r[1]), str(r[2])) for r in rows]

    def segments(self, ids: list[int]) -> dict[int, str]:
        """The FTS rows' `seg` text of these chunks."""
        segs: dict[int, str] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            rows = self.conn.execute(
                f"SELECT rowid, seg FROM kb_fts WHERE rowid IN ({marks(part)})", part
            )
            segs.update((int(r[0]), str(r[1])) for r in rows)
        return segs
