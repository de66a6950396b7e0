"""SQLite side of the vector component: schema, connections, and helpers usable inside a caller's transaction."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent_app.errors import StorageError
from agent_app.storage.sqlite import connect as sqlite_connect

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class EmbeddingMismatchError(StorageError):
    """Stored vectors were made by another embedder (dimension or model): re-embed first."""

    kind, key = "embedding_changed", "error.embedding_changed"


@dataclass
class Rows:
    """A batch of vector rows read from SQLite (ids ascending) plus the state it reflects."""

    ids: np.ndarray
    owners: list[str]
    refs: list[str]
    vectors: np.ndarray
    dead: np.ndarray
    """Ids tombstoned after the `after_seq` the read started from."""
    dead_owners: list[str]
    max_id: int
    tomb_seq: int
    count: int
    """Rows in the table in the same read transaction (for the consistency check)."""


def table(name: str) -> str:
    """The vector table of component `name` (validated: it is spliced into DDL)."""
    if not _NAME.match(name):
        raise ValueError(f"invalid vector table name {name!r}")
    return f"vec_{name}"


def connect(path: str | Path) -> sqlite3.Connection:
    """An autocommit connection with WAL, synchronous=FULL and a busy timeout (use `transaction`)."""
    conn = sqlite_connect(path)
    if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        raise StorageError(f"could not enable WAL on {path}")
    # Deleted rows are overwritten with zeros, so "forget" does not leave text in free pages.
    conn.execute("PRAGMA secure_delete=ON")
    return conn


@contextmanager
def transaction(
    conn: sqlite3.Connection, *, immediate: bool = True
) -> Iterator[sqlite3.Connection]:
    """BEGIN [IMMEDIATE] … COMMIT, ROLLBACK on any error (IMMEDIATE avoids lock-upgrade deadlocks)."""
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def ensure_schema(conn: sqlite3.Connection, name: str) -> None:
    """Create the vector table, tombstone log, row counter, meta table and triggers (idempotent)."""
    if not conn.in_transaction:  # the row counter must be initialised atomically with its triggers
        with transaction(conn):
            ensure_schema(conn, name)
        return
    t = table(name)
    # One statement at a time: executescript() would COMMIT the caller's open transaction.
    for statement in (
        f"""CREATE TABLE IF NOT EXISTS {t} (id INTEGER PRIMARY KEY AUTOINCREMENT,
            owner TEXT NOT NULL, ref TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL)""",
        f"CREATE INDEX IF NOT EXISTS {t}_owner_ref ON {t}(owner, ref)",
        f"""CREATE TABLE IF NOT EXISTS {t}_deleted
            (seq INTEGER PRIMARY KEY AUTOINCREMENT, vid INTEGER NOT NULL, owner TEXT NOT NULL)""",
        f"CREATE TABLE IF NOT EXISTS {t}_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        # COUNT(*) scans the table (~5 ms at 100k rows); the counter makes the check O(1).
        f"""CREATE TABLE IF NOT EXISTS {t}_stat
            (id INTEGER PRIMARY KEY CHECK (id = 1), rows INTEGER NOT NULL)""",
        f"INSERT OR IGNORE INTO {t}_stat(id, rows) SELECT 1, COUNT(*) FROM {t}",
    ):
        conn.execute(statement)
    if "owner" not in {r[1] for r in conn.execute(f"PRAGMA table_info({t}_deleted)")}:
        # Tables from the first schema: add the owner column and replace the delete trigger.
        conn.execute(f"ALTER TABLE {t}_deleted ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
        conn.execute(f"DROP TRIGGER IF EXISTS {t}_log_delete")
    for statement in (
        f"""CREATE TRIGGER IF NOT EXISTS {t}_log_delete AFTER DELETE ON {t} BEGIN
            INSERT INTO {t}_deleted(vid, owner) VALUES (old.id, old.owner);
            UPDATE {t}_stat SET rows = rows - 1 WHERE id = 1; END""",
        f"""CREATE TRIGGER IF NOT EXISTS {t}_count_insert AFTER INSERT ON {t}
            BEGIN UPDATE {t}_stat SET rows = rows + 1 WHERE id = 1; END""",
        f"""CREATE TRIGGER IF NOT EXISTS {t}_immutable BEFORE UPDATE ON {t}
            BEGIN SELECT RAISE(ABORT, 'vector rows are immutable: delete and insert'); END""",
    ):
        conn.execute(statement)
    # The instance id ties snapshots to this database (a recreated DB restarts row ids).
    conn.execute(
        f"INSERT OR IGNORE INTO {t}_meta(key, value) VALUES ('instance', ?)", (uuid.uuid4().hex,)
    )


def recount(conn: sqlite3.Connection, name: str) -> int:
    """Reset the row counter from COUNT(*) (before a rebuild, in case it drifted); returns it."""
    t = table(name)
    with transaction(conn):
        conn.execute(f"UPDATE {t}_stat SET rows = (SELECT COUNT(*) FROM {t}) WHERE id = 1")
        return int(conn.execute(f"SELECT rows FROM {t}_stat").fetchone()[0])


def get_meta(conn: sqlite3.Connection, name: str) -> dict[str, str]:
    """The meta table as a dict: instance, and dim/model once set."""
    return dict(conn.execute(f"SELECT key, value FROM {table(name)}_meta").fetchall())


def check_model(conn: sqlite3.Connection, name: str, dim: int, model: str) -> None:
    """Record dim/model on first use; raise EmbeddingMismatchError if they differ from the stored ones."""
    meta = get_meta(conn, name)
    if "dim" not in meta:
        conn.executemany(
            f"INSERT OR REPLACE INTO {table(name)}_meta(key, value) VALUES (?, ?)",
            [("dim", str(dim)), ("model", model)],
        )
        return
    if int(meta["dim"]) != dim or meta.get("model", "") != model:
        raise EmbeddingMismatchError(
            f"{table(name)} holds {meta['dim']}-d vectors of {meta.get('model')!r}, "
            f"embedder is {dim}-d {model!r}: re-embed required"
        )


def as_unit_rows(vectors: Any, dim: int | None = None) -> np.ndarray:
    """float32 (n, dim) with L2-normalised rows (the metric is cosine); rejects NaN/inf."""
    arr = np.array(vectors, dtype=np.float32, ndmin=2, copy=True)
    if arr.ndim != 2 or (dim is not None and arr.shape[1] != dim):
        raise EmbeddingMismatchError(f"vector shape {arr.shape} does not match dimension {dim}")
    if not np.isfinite(arr).all():
        raise ValueError("vectors contain NaN or infinity")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    np.divide(arr, norms, out=arr, where=norms > 0)
    return arr


def insert_vectors(
    conn: sqlite3.Connection, name: str, rows: Iterable[tuple[str, str, Any]]
) -> list[int]:
    """Insert (owner, ref, vector) rows in the caller's open transaction; returns the new row ids."""
    meta = get_meta(conn, name)
    if "dim" not in meta:
        raise EmbeddingMismatchError(
            f"{table(name)} has no dimension yet: open a VectorIndex first"
        )
    dim, ids = int(meta["dim"]), []
    sql = f"INSERT INTO {table(name)}(owner, ref, dim, vector) VALUES (?, ?, ?, ?)"
    for owner, ref, vector in rows:
        unit = as_unit_rows(vector, dim)[0]
        cur = conn.execute(sql, (str(owner), str(ref), dim, unit.tobytes()))
        ids.append(int(cur.lastrowid or 0))
    return ids


def delete_vectors(
    conn: sqlite3.Connection,
    name: str,
    *,
    ids: Sequence[int] | None = None,
    owner: str | None = None,
    refs: Sequence[str] | None = None,
) -> int:
    """Delete rows by ids, by owner+refs, or all of an owner's rows; tombstones are logged by trigger."""
    t = table(name)
    if ids is not None:
        args: list[tuple[Any, ...]] = [(int(i),) for i in ids]
        sql = f"DELETE FROM {t} WHERE id = ?"
    elif owner is not None and refs is not None:
        args, sql = [(owner, str(r)) for r in refs], f"DELETE FROM {t} WHERE owner = ? AND ref = ?"
    elif owner is not None:
        args, sql = [(owner,)], f"DELETE FROM {t} WHERE owner = ?"
    else:
        raise ValueError("delete_vectors needs ids, owner+refs or owner")
    return max(0, conn.executemany(sql, args).rowcount)


def reset_vectors(conn: sqlite3.Connection, name: str, dim: int, model: str) -> None:
    """Drop every vector and switch the table to a new embedder (call inside the re-embed transaction)."""
    t = table(name)
    conn.execute(f"DELETE FROM {t}")
    conn.executemany(
        f"INSERT OR REPLACE INTO {t}_meta(key, value) VALUES (?, ?)",
        [("dim", str(dim)), ("model", model)],
    )


def read_rows(conn: sqlite3.Connection, name: str, dim: int, after_id: int, after_seq: int) -> Rows:
    """Rows newer than `after_id` and tombstones newer than `after_seq`, in one read transaction."""
    t = table(name)
    with transaction(conn, immediate=False):
        dead = conn.execute(
            f"SELECT seq, vid, owner FROM {t}_deleted WHERE seq > ? ORDER BY seq", (after_seq,)
        ).fetchall()
        rows = conn.execute(
            f"SELECT id, owner, ref, dim, vector FROM {t} WHERE id > ? ORDER BY id", (after_id,)
        ).fetchall()
        count = conn.execute(f"SELECT rows FROM {t}_stat WHERE id = 1").fetchone()[0]
    if any(r[3] != dim or len(r[4]) != 4 * dim for r in rows):
        raise EmbeddingMismatchError(
            f"{t} has rows whose dimension is not {dim}: re-embed required"
        )
    vectors = np.frombuffer(b"".join(r[4] for r in rows), dtype=np.float32).reshape(len(rows), dim)
    return Rows(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        owners=[r[1] for r in rows],
        refs=[r[2] for r in rows],
        vectors=vectors,
        dead=np.array([d[1] for d in dead], dtype=np.int64),
        dead_owners=[d[2] for d in dead],
        max_id=int(rows[-1][0]) if rows else after_id,
        tomb_seq=int(dead[-1][0]) if dead else after_seq,
        count=int(count),
    )


def read_hits(
    conn: sqlite3.Connection, name: str, dim: int, ids: Sequence[int], *, vectors: bool
) -> tuple[list[tuple[int, str, str]], np.ndarray | None]:
    """(id, owner, ref) of the given row ids (missing ones left out), and their vectors if asked."""
    columns = "id, owner, ref, vector" if vectors else "id, owner, ref"
    rows = conn.execute(
        f"SELECT {columns} FROM {table(name)} WHERE id IN ({','.join('?' * len(ids))})", list(ids)
    ).fetchall()
    if not vectors:
        return rows, None
    matrix = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.float32).reshape(len(rows), dim)
    return [r[:3] for r in rows], matrix


def owner_ids(conn: sqlite3.Connection, name: str, owner: str, max_id: int) -> np.ndarray:
    """Sorted row ids of one owner up to `max_id`, from the covering (owner, ref) index."""
    t = table(name)
    rows = conn.execute(
        f"SELECT id FROM {t} INDEXED BY {t}_owner_ref WHERE owner = ? AND id <= ?", (owner, max_id)
    ).fetchall()
    return np.sort(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))


def data_version(conn: sqlite3.Connection) -> int:
    """Changes when another connection commits: a ~10 µs 'anything new?' check."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])
