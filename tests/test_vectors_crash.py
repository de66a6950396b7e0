"""Crash and multi-process tests: kill -9 during snapshots (B3), two writer processes (B9, B10)."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import sqlite3
import time
import uuid

import numpy as np
import pytest

from agent_app.vectors import VectorIndex
from agent_app.vectors import snapshot as snap

pytestmark = [pytest.mark.integration, pytest.mark.slow]
DIM = 256
CTX = mp.get_context("spawn")  # fork after FAISS/OpenMP threads started can deadlock the child


def _snapshot_forever(db: str, ready) -> None:
    index = VectorIndex(db, "t", dim=DIM, model="m", background=False)
    rng = np.random.default_rng(os.getpid())
    index.snapshot(force=True)  # so there always is a previous snapshot to fall back to
    ready.set()
    while True:
        index.add_many([("u", uuid.uuid4().hex, v) for v in rng.standard_normal((40, DIM))])
        index.snapshot(force=True)


def _add_one_by_one(db: str, owner: str, n: int) -> None:
    index = VectorIndex(db, "t", dim=DIM, model="m", snapshot_every=40)
    rng = np.random.default_rng(abs(hash(owner)) % 2**32)
    for i, v in enumerate(rng.standard_normal((n, DIM))):
        index.add(owner, str(i), v)
        if i % 25 == 0:
            index.search(v, 3)
    index.close()


def _sqlite_rows(db) -> tuple[list[tuple[int, bytes]], str]:
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT id, vector FROM vec_t").fetchall()
    check = conn.execute("PRAGMA integrity_check").fetchone()[0]
    conn.close()
    return rows, check


def test_kill_9_during_snapshot_keeps_previous_snapshot_and_all_rows(tmp_path):
    db, vdir = str(tmp_path / "v.sqlite"), tmp_path / "v.vectors"
    rng = random.Random(7)
    for _ in range(4):
        ready = CTX.Event()
        child = CTX.Process(target=_snapshot_forever, args=(db, ready))
        child.start()
        assert ready.wait(60)
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        rows, check = _sqlite_rows(db)
        assert check == "ok"
        pointer = snap.read_pointer(vdir, "t")
        # The snapshot the pointer names is complete and verifies (checksum, ntotal).
        index, _ = snap.load(vdir, "t", {"dim": DIM, "model": "m", "instance": pointer["instance"]})
        assert index.ntotal <= len(rows)
        reopened = VectorIndex(db, "t", dim=DIM, model="m", background=False)
        assert reopened.count() == len(rows)  # every committed row is searchable again
        for vid, blob in rng.sample(rows, 5):
            assert reopened.search(np.frombuffer(blob, dtype=np.float32), 1)[0].id == vid
        reopened.close(snapshot=False)
    final = VectorIndex(db, "t", dim=DIM, model="m", background=False)
    final.snapshot(force=True)  # the next snapshot clears what killed writers left behind
    final.close()
    assert sorted(p.suffix for p in vdir.iterdir()) == [".faiss", ".json", ".lock"]


def test_two_processes_adding_concurrently_lose_nothing(tmp_path):
    db = str(tmp_path / "v.sqlite")
    VectorIndex(db, "t", dim=DIM, model="m").close()  # create the schema once
    children = [CTX.Process(target=_add_one_by_one, args=(db, f"p{i}", 150)) for i in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
        assert child.exitcode == 0
    rows, check = _sqlite_rows(db)
    assert check == "ok" and len(rows) == 300
    index = VectorIndex(db, "t", dim=DIM, model="m", background=False)
    assert index.count() == 300 and index.count("p0") == 150 and index.count("p1") == 150
    vid, blob = rows[-1]
    assert index.search(np.frombuffer(blob, dtype=np.float32), 1)[0].id == vid
    index.close()
