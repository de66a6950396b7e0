"""Vectors: SQLite is the truth, FAISS a derived index — shared by long-term memory and the knowledge base.

Stable API (docs/memory.md has the design and the measured figures):

Tables, created by ``ensure_schema(conn, name)`` (``name`` matches ``^[a-z][a-z0-9_]{0,31}$``):
    vec_<name>(id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT, ref TEXT, dim INTEGER, vector BLOB)
        float32 little-endian, L2-normalised on insert (the metric is cosine); rows are immutable
        (an UPDATE aborts) — to change a vector, delete the row and insert a new one.
    vec_<name>_deleted(seq INTEGER PRIMARY KEY AUTOINCREMENT, vid INTEGER, owner TEXT)
        tombstone log filled by an AFTER DELETE trigger, so any DELETE (yours or ours) reaches
        every process's index.
    vec_<name>_meta(key TEXT PRIMARY KEY, value TEXT): instance, dim, model.
    vec_<name>_stat(id = 1, rows INTEGER): row counter kept by triggers (O(1) consistency check).

Writing inside your own transaction (atomic with your own rows):
    conn = connect(path)                          # WAL, synchronous=FULL, busy_timeout 30 s, autocommit
    with transaction(conn):                       # BEGIN IMMEDIATE … COMMIT / ROLLBACK
        conn.execute("INSERT INTO my_chunks …")      # ensure_schema(conn, name) once beforehand;
                                                  # insert_vectors needs dim set by a VectorIndex
        ids = insert_vectors(conn, name, [(owner, ref, vector), …])     # -> list[int] row ids
        n = delete_vectors(conn, name, ids=[…] | owner=…, refs=[…] | owner=…)  # -> rows deleted
        reset_vectors(conn, name, dim, model)     # re-embed: drop all vectors, switch embedder
    index.refresh()                               # optional: search() refreshes by itself

The index (one per process and table; thread-safe):
    index = VectorIndex(db_path_or_conn_factory, name, *, dim, model="", snapshot_dir=None,
                        params=IndexParams(), snapshot_every=1000, background=True)
        loads the snapshot, catches up with newer rows/tombstones, checks ntotal == row count; a
        missing/corrupt/truncated/inconsistent snapshot is logged and rebuilt (flat at once, IVF
        trained in the background).
        Raises EmbeddingMismatchError if the table holds another dim/model (re-embed required).
        snapshot_dir defaults to <db dir>/<db stem>.vectors/ (required with a connection factory).
    index.search(vector, k=10, *, owner=None | "o" | ["o1", "o2"]) -> list[Hit(id, owner, ref, score)]
    index.refresh(*, wait=True, force=False) -> int      rows/deletions applied
    index.add(owner, ref, vector) -> int / index.add_many(rows) -> list[int]   own transaction
    index.delete(*, ids=None, owner=None, refs=None) -> int
    index.snapshot(*, force=False) -> bool               written?
    index.rebuild(kind="auto")                           retrain from SQLite, swap, snapshot
    index.count(owner=None) / index.stats() / index.wait_idle() / index.close(snapshot=True)

Index policy (IndexParams): exact IndexIDMap2(IndexFlatIP) below 8,192 vectors; above,
IndexIVFScalarQuantizer with fp16 codes (inner product, nlist = pow2 ≤ 4·√n, nprobe = max(16, nlist/64), hashtable direct map),
whose candidates are re-scored with the float32 rows from SQLite. An owner filter matching ≤ 2,048
rows is answered exactly; larger ones use an IDSelector with more lists probed. Owner → ids is read
lazily from the (owner, ref) index and cached until that owner's rows change.
Snapshots: <dir>/<name>-<version>.faiss (faiss.write_index, never pickle) + <dir>/<name>.json
(pointer: file, size, crc32, ntotal, dim, model, instance, max_id, tomb_seq), written temp → fsync →
os.replace under the file lock <dir>/<name>.lock.
"""

from agent_app.vectors.ann import IndexParams
from agent_app.vectors.db import (
    EmbeddingMismatchError,
    as_unit_rows,
    connect,
    delete_vectors,
    ensure_schema,
    insert_vectors,
    reset_vectors,
    table,
    transaction,
)
from agent_app.vectors.index import Hit, VectorIndex

__all__ = [
    "EmbeddingMismatchError",
    "Hit",
    "IndexParams",
    "VectorIndex",
    "as_unit_rows",
    "connect",
    "delete_vectors",
    "ensure_schema",
    "insert_vectors",
    "reset_vectors",
    "table",
    "transaction",
]
