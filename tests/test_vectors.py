"""VectorIndex: SQLite truth, derived FAISS index, snapshots, filters, deletes, tampering (B3–B5, B9)."""

from __future__ import annotations

import errno
import json
import logging
import pickle
import sqlite3
import threading

import numpy as np
import pytest

from agent_app.errors import StorageError
from agent_app.vectors import (
    EmbeddingMismatchError,
    IndexParams,
    VectorIndex,
    connect,
    delete_vectors,
    insert_vectors,
    reset_vectors,
    transaction,
)
from agent_app.vectors import snapshot as snap

pytestmark = pytest.mark.unit
DIM = 32


def clustered(n: int, dim: int = DIM, seed: int = 0, clusters: int = 50) -> np.ndarray:
    """Unit vectors around cluster centres (ANN recall is meaningful on structured data)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.35 * rng.standard_normal((n, dim)).astype(
        np.float32
    )
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def open_index(tmp_path, **kw) -> VectorIndex:
    kw.setdefault("background", False)
    return VectorIndex(
        tmp_path / "v.sqlite", "t", dim=kw.pop("dim", DIM), model=kw.pop("model", "m"), **kw
    )


def exact_top(x: np.ndarray, ids: np.ndarray, q: np.ndarray, k: int) -> list[int]:
    scores = x @ q
    order = np.argsort(-scores, kind="stable")[:k]
    return [int(ids[i]) for i in order]


def test_insert_inside_caller_transaction_is_atomic(tmp_path):
    index = open_index(tmp_path)
    conn = connect(tmp_path / "v.sqlite")
    conn.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT)")
    x = clustered(3)
    with pytest.raises(RuntimeError), transaction(conn):
        conn.execute("INSERT INTO docs(body) VALUES ('a')")
        insert_vectors(conn, "t", [("u", "a", x[0])])
        raise RuntimeError("embedding of chunk 2 failed")
    assert (
        index.search(x[0], 5) == [] and conn.execute("SELECT COUNT(*) FROM docs").fetchone()[0] == 0
    )
    with transaction(conn):
        conn.execute("INSERT INTO docs(body) VALUES ('b')")
        [vid] = insert_vectors(conn, "t", [("u", "b", x[1])])
    hits = index.search(x[1], 1)  # search refreshes: a write by another connection is seen
    assert (
        hits[0].id == vid and hits[0].ref == "b" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    )
    index.close()


def test_rare_owner_gets_exact_best_matches_in_ivf(tmp_path):
    params = IndexParams(ivf_min=1000, exact_owner_max=200)
    index = open_index(tmp_path, params=params)
    n = 20_000
    x = clustered(n, seed=1)
    owners = ["rare" if i % 1000 == 7 else ("mid" if i % 5 == 0 else "bulk") for i in range(n)]
    ids = np.array(
        index.add_many([(o, str(i), v) for i, (o, v) in enumerate(zip(owners, x, strict=True))])
    )
    index.rebuild()
    assert index.stats()["kind"] == "ivf" and index.count("rare") == 20
    queries, owner_arr = clustered(20, seed=2), np.array(owners)
    for q in queries:  # 0.1 % of the data: answered exactly over that owner's rows
        mask = owner_arr == "rare"
        assert [h.id for h in index.search(q, 10, owner="rare")] == exact_top(
            x[mask], ids[mask], q, 10
        )
    recall, unfiltered = [], []
    for q in queries:  # 20 % of the data: IDSelector inside IVF, compared with exact over the owner
        mask = owner_arr == "mid"
        got = {h.id for h in index.search(q, 10, owner="mid")}
        recall.append(len(got & set(exact_top(x[mask], ids[mask], q, 10))) / 10)
        got = {h.id for h in index.search(q, 10)}
        unfiltered.append(len(got & set(exact_top(x, ids, q, 10))) / 10)
    # The filtered search probes more lists, so the filter costs no recall.
    assert np.mean(recall) >= np.mean(unfiltered) - 0.02
    both = index.search(queries[0], 30, owner=["rare", "mid"])
    assert {h.owner for h in both} <= {"rare", "mid"} and len(both) == 30
    index.close()


def test_deletes_really_delete_everywhere(tmp_path):
    index = open_index(tmp_path)
    x = clustered(50, seed=3)
    index.add_many([("u", str(i), v) for i, v in enumerate(x)])
    secret = np.full(DIM, 1 / np.sqrt(DIM), dtype=np.float32)
    secret[0] = 0.123456789  # a recognisable byte pattern
    secret /= np.linalg.norm(secret)
    index.add("u", "secret", secret)
    index.snapshot()
    other = open_index(tmp_path)  # another process's view of the same table
    assert other.search(secret, 1)[0].ref == "secret"
    assert index.delete(owner="u", refs=["secret"]) == 1
    assert all(h.ref != "secret" for h in index.search(secret, 60))
    assert all(h.ref != "secret" for h in other.search(secret, 60))  # learnt from the tombstone log
    index.snapshot()
    other.close(snapshot=False)
    index.close()
    conn = sqlite3.connect(tmp_path / "v.sqlite")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    needle = secret.tobytes()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files and not [p.name for p in files if needle in p.read_bytes()]


def test_truncated_snapshot_is_detected_and_rebuilt(tmp_path, caplog):
    index = open_index(tmp_path)
    x = clustered(200, seed=4)
    index.add_many([("u", str(i), v) for i, v in enumerate(x)])
    index.close()
    pointer = snap.read_pointer(tmp_path / "v.vectors", "t")
    path = tmp_path / "v.vectors" / pointer["file"]
    path.write_bytes(path.read_bytes()[: pointer["size"] // 2])
    with caplog.at_level(logging.WARNING, logger="agent_app.vectors"):
        again = open_index(tmp_path)
    assert "truncated or corrupt" in caplog.text and "rebuilding" in caplog.text
    assert again.count() == 200 and again.search(x[5], 1)[0].ref == "5"
    again.close()


class _Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_planted_pickle_is_never_loaded(tmp_path, caplog):
    index = open_index(tmp_path)
    x = clustered(20, seed=5)
    index.add_many([("u", str(i), v) for i, v in enumerate(x)])
    index.close()
    marker, vdir = tmp_path / "PWNED", tmp_path / "v.vectors"
    payload = pickle.dumps(_Evil(marker))
    assert not marker.exists()
    pointer = snap.read_pointer(vdir, "t")
    for name in ("index.pkl", "t.pkl", "index.faiss", pointer["file"]):
        (vdir / name).write_bytes(payload)
    with caplog.at_level(logging.WARNING, logger="agent_app.vectors"):
        again = open_index(tmp_path)
    assert not marker.exists()
    assert "rebuilding" in caplog.text and again.search(x[3], 1)[0].ref == "3"
    (vdir / "t.json").write_bytes(payload)  # a pickle as the pointer is just unreadable JSON
    open_index(tmp_path).close(snapshot=False)
    assert not marker.exists()
    again.close()


def test_embedder_change_never_mixes_dimensions(tmp_path):
    index = open_index(tmp_path)
    index.add("u", "a", clustered(1)[0])
    index.close()
    with pytest.raises(EmbeddingMismatchError) as err:
        open_index(tmp_path, dim=64)
    assert err.value.key == "error.embedding_changed"
    with pytest.raises(EmbeddingMismatchError):
        open_index(tmp_path, model="another-model")
    conn = connect(tmp_path / "v.sqlite")
    with pytest.raises(EmbeddingMismatchError), transaction(conn):
        insert_vectors(conn, "t", [("u", "b", np.ones(64))])
    with transaction(conn):
        reset_vectors(conn, "t", 64, "another-model")
        insert_vectors(conn, "t", [("u", "b", np.ones(64))])
    index = open_index(tmp_path, dim=64, model="another-model")
    assert [h.ref for h in index.search(np.ones(64), 5)] == ["b"]
    index.close()


def test_rows_are_immutable_and_nan_rejected(tmp_path):
    open_index(tmp_path).add("u", "a", clustered(1)[0])
    conn = connect(tmp_path / "v.sqlite")
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("UPDATE vec_t SET owner = 'other'")
    with pytest.raises(ValueError), transaction(conn):
        insert_vectors(conn, "t", [("u", "nan", np.full(DIM, np.nan))])


def test_inconsistent_snapshot_is_rebuilt(tmp_path, caplog):
    index = open_index(tmp_path)
    index.add_many([("u", str(i), v) for i, v in enumerate(clustered(30, seed=6))])
    index.close()
    conn = connect(tmp_path / "v.sqlite")
    with transaction(conn):  # rows vanish and the tombstone log is lost: only the count can tell
        delete_vectors(conn, "t", ids=[1, 2, 3])
        conn.execute("DELETE FROM vec_t_deleted")
    with caplog.at_level(logging.WARNING, logger="agent_app.vectors"):
        again = open_index(tmp_path)
    assert "inconsistent" in caplog.text and again.count() == 27
    again.close()


def test_background_switch_to_ivf_then_reload_from_snapshot(tmp_path, caplog):
    params = IndexParams(ivf_min=300, min_lists=8, min_nprobe=4)
    index = open_index(tmp_path, params=params, background=True, snapshot_every=100)
    x = clustered(400, seed=7)
    for start in range(0, 400, 100):
        index.add_many([("u", str(i), x[i]) for i in range(start, start + 100)])
    index.wait_idle()
    assert index.stats()["kind"] == "ivf"
    assert snap.read_pointer(tmp_path / "v.vectors", "t")["kind"] == "ivf"
    index.close()
    with caplog.at_level(logging.INFO, logger="agent_app.vectors"):
        again = open_index(tmp_path, params=params)
    assert "snapshot loaded" in caplog.text and again.stats()["kind"] == "ivf"
    assert again.search(x[42], 1)[0].ref == "42"
    again.close()


def test_failed_snapshot_write_keeps_previous(tmp_path, monkeypatch):
    index = open_index(tmp_path)
    x = clustered(40, seed=8)
    index.add_many([("u", str(i), v) for i, v in enumerate(x[:20])])
    index.snapshot()
    before = snap.read_pointer(tmp_path / "v.vectors", "t")
    index.add_many([("u", str(i), v) for i, v in enumerate(x[20:], start=20)])

    def full_disk(idx, path):
        with open(path, "wb") as fh:
            fh.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(snap.faiss, "write_index", full_disk)
    with pytest.raises(StorageError):
        index.snapshot()
    monkeypatch.undo()
    assert snap.read_pointer(tmp_path / "v.vectors", "t") == before
    assert not [p for p in (tmp_path / "v.vectors").iterdir() if p.name.endswith(".tmp")]
    assert index.search(x[30], 1)[0].ref == "30"  # still serving
    index.close(snapshot=False)
    again = open_index(tmp_path)  # previous snapshot + catch-up from SQLite
    assert again.count() == 40
    again.close()


def test_concurrent_threads_add_and_search(tmp_path):
    index = open_index(tmp_path, background=True, snapshot_every=50)
    x = clustered(400, seed=9)
    errors: list[BaseException] = []

    def writer(part: int) -> None:
        try:
            for i in range(part * 100, part * 100 + 100):
                index.add(f"w{part}", str(i), x[i])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            for i in range(150):
                index.search(x[i], 5, owner=None if i % 2 else "w1")
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    index.refresh()
    assert not errors and index.count() == 400 and index.count("w3") == 100
    index.close()
    assert open_index(tmp_path).count() == 400


def test_pointer_file_name_cannot_escape_the_directory(tmp_path):
    index = open_index(tmp_path)
    index.add("u", "a", clustered(1)[0])
    index.close()
    pointer_path = tmp_path / "v.vectors" / "t.json"
    pointer = json.loads(pointer_path.read_text())
    pointer["file"] = "../../etc/passwd"
    pointer_path.write_text(json.dumps(pointer))
    with pytest.raises(snap.SnapshotInvalid, match="format"):
        snap.load(tmp_path / "v.vectors", "t", {})


def test_edge_cases(tmp_path):
    index = open_index(tmp_path)
    assert index.search(np.ones(DIM), 5) == [] and index.search(np.ones(DIM), 5, owner="x") == []
    index.add("u", "a", np.ones(DIM))
    assert (
        len(index.search(np.ones(DIM), 50, owner="u")) == 1 and index.search(np.ones(DIM), 0) == []
    )
    with pytest.raises(EmbeddingMismatchError):
        index.search(np.ones(DIM + 1), 1)
    with pytest.raises(ValueError):
        VectorIndex(tmp_path / "v.sqlite", "bad name; DROP TABLE x", dim=DIM)
    index.close()


def test_tables_of_the_first_schema_are_migrated(tmp_path):
    conn = sqlite3.connect(tmp_path / "v.sqlite")
    conn.executescript("""
        CREATE TABLE vec_t (id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL,
            ref TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL);
        CREATE TABLE vec_t_deleted (seq INTEGER PRIMARY KEY AUTOINCREMENT, vid INTEGER NOT NULL);
        CREATE TRIGGER vec_t_log_delete AFTER DELETE ON vec_t
            BEGIN INSERT INTO vec_t_deleted(vid) VALUES (old.id); END;
    """)
    conn.close()
    index = open_index(tmp_path)
    x = clustered(3, seed=10)
    index.add_many([("u", str(i), v) for i, v in enumerate(x)])
    assert index.delete(owner="u", refs=["1"]) == 1
    assert index.count() == 2 and index.count("u") == 2 and index.search(x[1], 3, owner="u")
    index.close()
