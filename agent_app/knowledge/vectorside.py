"""The knowledge base's vector side behind a small interface (SQLite rows are the truth)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np

VECTOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS kb_vectors (
    chunk_id INTEGER PRIMARY KEY, cid INTEGER NOT NULL, vec BLOB NOT NULL);
"""


class VectorIndex(Protocol):
    """Writes join the caller's transaction; search sees every committed row."""

    def add(
        self,
        conn: sqlite3.Connection,
        ids: Sequence[int],
        owners: Sequence[int],
        vectors: np.ndarray,
    ) -> None: ...

    def delete(self, conn: sqlite3.Connection, ids: Sequence[int]) -> None: ...

    def clear(self, conn: sqlite3.Connection) -> None: ...

    def search(
        self, query: np.ndarray, owners: Sequence[int], k: int
    ) -> list[tuple[int, float]]: ...


class SqliteMatrixIndex:
    """Vectors as float32 blobs in kb_vectors; an in-memory matrix caught up from the rows on search."""

    def __init__(self, connect: object) -> None:
        self._connect = connect  # callable returning this thread's connection
        self._lock = threading.Lock()
        self._ids = np.zeros(0, dtype=np.int64)
        self._owners = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._generation: str | None = None
        self._conn().executescript(VECTOR_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        return self._connect()  # type: ignore[operator, no-any-return]

    def add(
        self,
        conn: sqlite3.Connection,
        ids: Sequence[int],
        owners: Sequence[int],
        vectors: np.ndarray,
    ) -> None:
        rows = np.ascontiguousarray(vectors, dtype=np.float32)
        conn.executemany(
            "INSERT OR REPLACE INTO kb_vectors (chunk_id, cid, vec) VALUES (?, ?, ?)",
            [
                (int(i), int(o), rows[n].tobytes())
                for n, (i, o) in enumerate(zip(ids, owners, strict=True))
            ],
        )
        _bump(conn)

    def delete(self, conn: sqlite3.Connection, ids: Sequence[int]) -> None:
        items = [int(i) for i in ids]
        for start in range(0, len(items), 500):
            part = items[start : start + 500]
            conn.execute(
                f"DELETE FROM kb_vectors WHERE chunk_id IN ({','.join('?' * len(part))})", part
            )
        _bump(conn)

    def clear(self, conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM kb_vectors")
        _bump(conn)

    def search(self, query: np.ndarray, owners: Sequence[int], k: int) -> list[tuple[int, float]]:
        """Top-k (chunk_id, cosine) among rows whose owner (collection) is in `owners`."""
        with self._lock:
            self._refresh()
            ids, own, matrix = self._ids, self._owners, self._matrix
        if not len(ids) or matrix.shape[1] != query.shape[-1]:
            return []
        scores = matrix @ query.astype(np.float32).reshape(-1)
        scores = np.where(np.isin(own, np.asarray(owners, dtype=np.int64)), scores, -np.inf)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]

    def _refresh(self) -> None:
        conn = self._conn()
        conn.execute("BEGIN")  # one read snapshot for the generation and the rows
        try:
            self._catch_up(conn)
        finally:
            conn.execute("COMMIT")

    def _catch_up(self, conn: sqlite3.Connection) -> None:
        row = conn.execute("SELECT value FROM kb_meta WHERE key = 'vector_generation'").fetchone()
        generation = row[0] if row else "0"
        if generation == self._generation:
            return
        last = int(self._ids[-1]) if len(self._ids) else 0
        new = conn.execute(
            "SELECT chunk_id, cid, vec FROM kb_vectors WHERE chunk_id > ? ORDER BY chunk_id",
            (last,),
        ).fetchall()
        total = conn.execute("SELECT COUNT(*) FROM kb_vectors").fetchone()[0]
        if total != len(self._ids) + len(new):  # something was deleted: rebuild from the rows
            new = conn.execute(
                "SELECT chunk_id, cid, vec FROM kb_vectors ORDER BY chunk_id"
            ).fetchall()
            self._ids = np.zeros(0, dtype=np.int64)
            self._owners = np.zeros(0, dtype=np.int64)
            self._matrix = np.zeros((0, 0), dtype=np.float32)
        if new:
            self._append(new)
        self._generation = generation

    def _append(self, rows: list[tuple[int, int, bytes]]) -> None:
        block = np.stack([np.frombuffer(r[2], dtype=np.float32) for r in rows])
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        owners = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        if self._matrix.size and self._matrix.shape[1] == block.shape[1]:
            block = np.vstack([self._matrix, block])
            ids = np.concatenate([self._ids, ids])
            owners = np.concatenate([self._owners, owners])
        self._matrix, self._ids, self._owners = block, ids, owners


def _bump(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT INTO kb_meta (key, value) VALUES ('vector_generation', '1') "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )
