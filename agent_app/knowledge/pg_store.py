"""The knowledge base on PostgreSQL: the same rows, a tsvector of jieba tokens and BM25 in SQL."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agent_app.knowledge.chunking import Chunk
from agent_app.knowledge.rows import KnowledgeRows, Ranked
from agent_app.knowledge.segment import TERM_BUDGET, segment_for_index
from agent_app.knowledge.sharing import SCHEMA as SHARES_SCHEMA
from agent_app.storage.backend import Executor
from agent_app.storage.pg import KB_WRITE_LOCK, PgBackend, _Tx, with_options

# PostgreSQL's text-search parsers do not segment Chinese, so nothing of theirs runs: the tsvector
# is written as a literal of our jieba tokens (with positions, for term frequency) and the query
# as a literal of our terms. BM25 is FTS5's formula (k1 1.2, b 0.75) over the GIN-matched rows.
SCHEMA = """
CREATE TABLE IF NOT EXISTS kb_collections (
    id BIGSERIAL PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL, UNIQUE (owner, name));
CREATE TABLE IF NOT EXISTS kb_documents (
    id BIGSERIAL PRIMARY KEY,
    collection_id BIGINT NOT NULL REFERENCES kb_collections(id) ON DELETE CASCADE,
    name TEXT NOT NULL, name_key TEXT NOT NULL, content_hash TEXT NOT NULL,
    stored_name TEXT, kind TEXT, size BIGINT NOT NULL DEFAULT 0, pages INTEGER,
    chunk_count INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, error TEXT, embedder TEXT,
    created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
    UNIQUE (collection_id, name_key));
CREATE INDEX IF NOT EXISTS kb_documents_hash ON kb_documents(collection_id, content_hash);
CREATE TABLE IF NOT EXISTS kb_chunks (
    id BIGSERIAL PRIMARY KEY,
    document_id BIGINT NOT NULL REFERENCES kb_documents(id) ON DELETE CASCADE,
    collection_id BIGINT NOT NULL, ordinal INTEGER NOT NULL,
    text TEXT NOT NULL, page INTEGER, heading TEXT,
    seg TEXT NOT NULL DEFAULT '', ntok INTEGER NOT NULL DEFAULT 1,
    tsv TSVECTOR NOT NULL DEFAULT ''::tsvector);
CREATE INDEX IF NOT EXISTS kb_chunks_document ON kb_chunks(document_id, ordinal);
CREATE INDEX IF NOT EXISTS kb_chunks_collection ON kb_chunks(collection_id);
CREATE INDEX IF NOT EXISTS kb_chunks_tsv ON kb_chunks USING gin (tsv) WITH (fastupdate = off);
CREATE TABLE IF NOT EXISTS kb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO kb_meta (key, value) VALUES ('generation', '0') ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS kb_files (
    document_id BIGINT PRIMARY KEY REFERENCES kb_documents(id) ON DELETE CASCADE,
    stored_name TEXT NOT NULL UNIQUE, data BYTEA NOT NULL);
""" + SHARES_SCHEMA.replace("REAL", "DOUBLE PRECISION")
K1, B = 1.2, 0.75
MAX_POSITIONS = 256  # PostgreSQL keeps at most this many positions per lexeme
MAX_LEXEME_BYTES = 2046
STATS_TTL_S = 1.0
# The planner prices a sequential scan of kb_chunks as cheap, but every row's tsvector must then be
# decompressed (TOAST): 8 times slower than the GIN index on 500 chunks, worse as it grows. Every
# statement of the store is an index lookup, so its connections discourage sequential scans.
PLANNER = "-c enable_seqscan=off"
_BM25 = f"""
SELECT c.id, c.collection_id, (
    SELECT SUM(q.idf * array_length(u.positions, 1) * {K1 + 1} / (array_length(u.positions, 1)
        + {K1} * ({1 - B} + {B} * c.ntok / ?::float8)))
    FROM unnest(ts_filter(setweight(c.tsv, 'A', ?::text[]), '{{{{a}}}}')) u
    JOIN unnest(?::text[], ?::float8[]) AS q(term, idf) ON q.term = u.lexeme) AS score
FROM kb_chunks c WHERE c.tsv @@ ?::tsquery {{where}}
ORDER BY score DESC, c.id LIMIT ?"""


def quote_lexeme(token: str) -> str:
    """A lexeme as tsvector/tsquery input: quoted, quotes and backslashes doubled."""
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(seg: str) -> tuple[str, int]:
    """The tsvector text of space-joined tokens (positions kept) and its token count."""
    positions: dict[str, list[int]] = {}
    tokens = seg.split()
    for n, token in enumerate(tokens, start=1):
        if len(token.encode()) <= MAX_LEXEME_BYTES:
            spots = positions.setdefault(token, [])
            if len(spots) < MAX_POSITIONS:
                spots.append(min(n, 16383))
    body = " ".join(f"{quote_lexeme(t)}:{','.join(map(str, p))}" for t, p in positions.items())
    return body, len(tokens) + 1  # + the collection token FTS5 counts too


def tsquery_literal(terms: list[str]) -> str:
    """Any of the terms (each one lexeme, nothing parsed)."""
    return " | ".join(quote_lexeme(t) for t in terms)


class PgKnowledgeStore(KnowledgeRows):
    """The knowledge base's tables in PostgreSQL; the thread in a transaction reads through it."""

    backend_name = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url
        self.backend = PgBackend(with_options(url, PLANNER), SCHEMA, write_lock=KB_WRITE_LOCK)
        self._local = threading.local()
        self._cache: dict[str, Any] = {"generation": None}
        self._checked = 0.0
        self._cache_lock = threading.Lock()

    @property
    def conn(self) -> Any:
        """This thread's open transaction, else the pool (one statement, autocommit)."""
        return getattr(self._local, "tx", None) or self.backend

    @contextmanager
    def transaction(self) -> Iterator[Executor]:
        """One writer at a time (an advisory lock); the generation moves for every cache."""
        if getattr(self._local, "tx", None) is not None:
            yield self._local.tx
            return
        with self.backend.transaction() as tx:
            tx.execute(
                "UPDATE kb_meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) "
                "WHERE key = 'generation'"
            )
            self._local.tx = tx
            try:
                yield tx
            finally:
                self._local.tx = None

    def close(self) -> None:
        """Close the pool."""
        self.backend.close()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Run this thread's statements on one pooled connection (a search: one checkout)."""
        if getattr(self._local, "tx", None) is not None:
            yield
            return
        self._checked = 0.0  # a search sees every write committed before it started
        with self.backend.pool.connection() as conn:
            self._local.tx = _Tx(conn)
            try:
                yield
            finally:
                self._local.tx = None

    # -- the lexical index --------------------------------------------------------------------
    def insert_chunks(
        self, conn: Executor, collection_id: int, document_id: int, chunks: list[Chunk]
    ) -> list[int]:
        """Insert the chunk rows with their tsvector in one statement; the new ids in order."""
        if not chunks:
            return []
        segs = [c.seg if c.seg is not None else segment_for_index(c.index_text) for c in chunks]
        literals = [tsvector_literal(seg) for seg in segs]
        rows = conn.execute(
            "INSERT INTO kb_chunks (document_id, collection_id, ordinal, text, page, heading, "
            "seg, ntok, tsv) SELECT ?, ?, o, t, p, h, s, n, CAST(v AS tsvector) FROM unnest("
            "CAST(? AS int[]), CAST(? AS text[]), CAST(? AS int[]), CAST(? AS text[]), "
            "CAST(? AS text[]), CAST(? AS int[]), CAST(? AS text[])) AS u(o, t, p, h, s, n, v) "
            "RETURNING id, ordinal",
            (
                document_id,
                collection_id,
                [c.ordinal for c in chunks],
                [c.text for c in chunks],
                [c.page for c in chunks],
                [c.heading for c in chunks],
                segs,
                [n for _, n in literals],
                [v for v, _ in literals],
            ),
        ).fetchall()
        by_ordinal = {int(o): int(i) for i, o in rows}
        return [by_ordinal[c.ordinal] for c in chunks]

    def _index_chunks(
        self, conn: Executor, collection_id: int, rows: list[tuple[int, Chunk]]
    ) -> None:
        """Nothing: insert_chunks writes the tsvector with the row."""

    def _unindex_chunks(self, conn: Executor, ids: list[int]) -> None:
        """Nothing: the index is a column of the chunk row."""

    def _stats(self) -> dict[str, Any]:
        """Counts that change only with the KB, re-read when its generation moved.

        The generation is read once per search (`reading`), else at most once a second: a
        stale count of an unknown term would drop it from a query, hiding a new document.
        """
        now = time.monotonic()
        if now - self._checked < STATS_TTL_S and self._cache["generation"] is not None:
            return self._cache
        generation = self.get_meta("generation")
        self._checked = now
        with self._cache_lock:
            if self._cache["generation"] != generation or len(self._cache["df"]) > 100_000:
                row = self.conn.execute(
                    "SELECT COUNT(*), COALESCE(AVG(ntok), 1) FROM kb_chunks"
                ).fetchone()
                self._cache = {
                    "generation": generation,
                    "rows": int(row[0]),
                    "avgdl": float(row[1]) or 1.0,
                    "df": {},
                }
            return self._cache

    def chunk_count(self) -> int:
        """How many chunks are stored (cached until the next write anywhere)."""
        return int(self._stats()["rows"])

    def doc_freq(self, terms: list[str], cap: int = TERM_BUDGET + 1) -> dict[str, int]:
        """Rows containing each known term, counted up to `cap` (one statement for all new terms)."""
        stats = self._stats()
        df: dict[str, int | None] = stats["df"]
        missing = [t for t in dict.fromkeys(terms) if t not in df]
        if missing:
            # One constant query per term (a GIN bitmap scan each), in one round trip.
            part = "SELECT ?, COUNT(*) FROM (SELECT 1 FROM kb_chunks WHERE tsv @@ CAST(? AS tsquery) LIMIT ?) s"
            params: list[Any] = []
            for position, term in enumerate(missing, start=1):
                params += [position, quote_lexeme(term), cap]
            rows = self.conn.execute(" UNION ALL ".join([part] * len(missing)), params).fetchall()
            for position, count in rows:
                df[missing[int(position) - 1]] = int(count) or None
        return {t: n for t in terms if (n := df.get(t)) is not None}

    def ranked(self, terms: list[str], collection_ids: list[int] | None, limit: int) -> Ranked:
        """BM25 (FTS5's formula) of the rows holding any of the terms, best first."""
        terms = list(dict.fromkeys(terms))[:32]
        if not terms or collection_ids == []:
            return []
        stats = self._stats()
        df = self.doc_freq(terms)
        n_rows = max(stats["rows"], 1)
        idf = [_idf(n_rows, df.get(t, 0)) for t in terms]
        where, extra = "", []
        if collection_ids is not None:
            where, extra = "AND c.collection_id = ANY(?)", [list(collection_ids)]
        rows = self.conn.execute(
            _BM25.format(where=where),
            (stats["avgdl"], terms, terms, idf, tsquery_literal(terms), *extra, limit),
        ).fetchall()
        return [(int(r[0]), int(r[1])) for r in rows]

    def segments(self, ids: list[int]) -> dict[int, str]:
        """The `seg` column of these chunks."""
        if not ids:
            return {}
        rows = self.conn.execute(
            "SELECT id, seg FROM kb_chunks WHERE id = ANY(?)", (list(ids),)
        ).fetchall()
        return {int(r[0]): str(r[1]) for r in rows}


def _idf(rows: int, hits: int) -> float:
    hits = min(hits, rows)  # counts read a moment apart while another process writes
    value = math.log((rows - hits + 0.5) / (hits + 0.5))
    return value if value > 0 else 1e-6
