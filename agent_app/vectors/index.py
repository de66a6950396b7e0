"""VectorIndex: an in-memory FAISS index derived from a SQLite vector table, kept current and snapshotted."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from agent_app.vectors import ann, db, snapshot
from agent_app.vectors.ann import IndexParams
from agent_app.vectors.owners import OwnerCache
from agent_app.vectors.rwlock import RWLock

log = logging.getLogger("agent_app.vectors")


@dataclass(frozen=True)
class Hit:
    """One search result: the row id, its owner and ref, and the cosine score."""

    id: int
    owner: str
    ref: str
    score: float


class VectorIndex:
    """FAISS over `vec_<name>`: refresh() catches up with SQLite, snapshot() persists atomically."""

    def __init__(
        self,
        database: str | Path | Callable[[], sqlite3.Connection],
        name: str,
        *,
        dim: int,
        model: str = "",
        snapshot_dir: str | Path | None = None,
        params: IndexParams | None = None,
        snapshot_every: int = 1000,
        background: bool = True,
    ) -> None:
        if callable(database):
            if snapshot_dir is None:
                raise ValueError("snapshot_dir is required with a connection factory")
            factory = database
        else:
            path = Path(database)
            factory = lambda: db.connect(path)  # noqa: E731
            snapshot_dir = snapshot_dir or path.parent / f"{path.stem}.vectors"
        # Reads and own writes use separate connections so that PRAGMA data_version sees both.
        self._conn, self._wconn = factory(), factory()
        self.name, self.dim, self.model = name, int(dim), model
        self.params = params or IndexParams()
        self.snapshot_every, self.background = snapshot_every, background
        self._dir = Path(snapshot_dir)
        self._io = threading.Lock()  # guards self._conn (shared by threads)
        self._lock = RWLock()  # guards the FAISS index and the id maps
        self._refresh_mutex = threading.Lock()
        self._snap_mutex = threading.Lock()
        self._bg_mutex = threading.Lock()
        self._bg: threading.Thread | None = None
        self._bg_again = False
        self._closed = False
        with self._io, db.transaction(self._wconn):
            db.ensure_schema(self._wconn, name)
            db.check_model(self._wconn, name, self.dim, model)
            self._instance = db.get_meta(self._wconn, name)["instance"]
        self._load()

    # ---- loading and rebuilding -------------------------------------------------------------
    def _expect(self) -> dict[str, Any]:
        return {"dim": self.dim, "model": self.model, "instance": self._instance}

    def _load(self) -> None:
        started = time.perf_counter()
        with self._io:
            version = db.data_version(self._conn)
        with snapshot.lock_for(
            self._dir, self.name
        ):  # no concurrent writer may swap files under us
            try:
                index, pointer = snapshot.load(self._dir, self.name, self._expect())
            except snapshot.SnapshotInvalid as exc:
                index, pointer, reason = None, None, str(exc)
        if index is not None and pointer is not None:
            with self._io:
                rows = db.read_rows(
                    self._conn, self.name, self.dim, pointer["max_id"], pointer["tomb_seq"]
                )
            self._apply(index, rows)
            if index.ntotal == rows.count:
                self._install(index, rows, version)
                self._snap_state = (pointer["max_id"], pointer["tomb_seq"])
                log.info(
                    "vectors[%s]: snapshot loaded (%d vectors, +%d new, -%d deleted) in %.0f ms",
                    self.name,
                    index.ntotal,
                    len(rows.ids),
                    len(rows.dead),
                    1000 * (time.perf_counter() - started),
                )
                self._after_change()
                return
            reason = f"inconsistent (index {index.ntotal} vectors, SQLite {rows.count} rows)"
        self._rebuild_from_scratch(reason, version)

    def _rebuild_from_scratch(self, reason: str, version: int) -> None:
        with self._io:
            db.recount(self._wconn, self.name)
            rows = db.read_rows(self._conn, self.name, self.dim, 0, 0)
        level = logging.INFO if reason == "missing" and not rows.count else logging.WARNING
        log.log(
            level,
            "vectors[%s]: snapshot %s, rebuilding from SQLite (%d rows)",
            self.name,
            reason,
            rows.count,
        )
        # Exact flat first: ready in well under a second; the IVF lists are trained in the background.
        index = ann.build(self.dim, rows.ids, rows.vectors, self.params, kind="flat")
        with self._lock.write():
            self._install(index, rows, version)
            self._snap_state = (-1, -1)
            self._urgent = rows.count > 0  # so that the next start loads instead of rebuilding
        self._after_change()

    def _install(self, index: faiss.Index, rows: db.Rows, version: int) -> None:
        ann.tune(index, self.params)
        self._index = index
        self._owners = OwnerCache(self._load_owner)
        self._max_id, self._tomb_seq, self._version = rows.max_id, rows.tomb_seq, version
        self._pending, self._urgent = 0, False

    def rebuild(self, kind: str = "auto") -> None:
        """Rebuild the index from SQLite (retrains IVF lists), swap it in and snapshot it."""
        started = time.perf_counter()
        with self._io:
            rows = db.read_rows(self._conn, self.name, self.dim, 0, 0)
        index = ann.build(self.dim, rows.ids, rows.vectors, self.params, kind=kind)
        built_at = (rows.max_id, rows.tomb_seq)
        del rows
        with self._refresh_mutex:  # rows committed while we trained are applied before the swap
            with self._io:
                version = db.data_version(self._conn)
                delta = db.read_rows(self._conn, self.name, self.dim, *built_at)
            with self._lock.write():
                self._apply(index, delta)
                self._install(index, delta, version)
        log.info(
            "vectors[%s]: rebuilt %s index of %d vectors in %.1f s",
            self.name,
            ann.kind_of(index),
            index.ntotal,
            time.perf_counter() - started,
        )
        self.snapshot(force=True)

    # ---- keeping up with SQLite ------------------------------------------------------------
    def _apply(self, index: faiss.Index, rows: db.Rows) -> None:
        """Remove tombstoned ids and add new rows (call under the write lock once installed)."""
        ann.remove(index, rows.dead)
        if len(rows.ids):
            index.add_with_ids(np.ascontiguousarray(rows.vectors), rows.ids)
        if index is getattr(self, "_index", None):
            self._owners.invalidate([*rows.owners, *rows.dead_owners])

    def _load_owner(self, owner: str) -> np.ndarray:
        with self._io:  # called under the read lock: _max_id is stable
            return db.owner_ids(self._conn, self.name, owner, self._max_id)

    def refresh(self, *, wait: bool = True, force: bool = False) -> int:
        """Apply rows and deletions committed since the last refresh (by any process); returns the count."""
        with self._io:
            version = db.data_version(self._conn)
        if version == self._version and not force:
            return 0
        if not self._refresh_mutex.acquire(blocking=wait):
            return self._defer()
        try:
            with self._io:
                rows = db.read_rows(self._conn, self.name, self.dim, self._max_id, self._tomb_seq)
            changed = len(rows.ids) + len(rows.dead)
            if changed:
                with self._lock.write(blocking=wait) as held:
                    if not held:  # a snapshot is being written: apply these rows a bit later
                        return self._defer()
                    with ann.single_thread() if len(rows.ids) < 64 else nullcontext():
                        self._apply(self._index, rows)
                    self._max_id, self._tomb_seq = rows.max_id, rows.tomb_seq
                    self._pending += changed
                    # Deleted vectors must also leave the snapshot on disk soon, not at the 1000th change.
                    self._urgent = self._urgent or bool(len(rows.dead))
                    consistent = self._index.ntotal == rows.count
                if not consistent:
                    self._rebuild_from_scratch("out of step with SQLite", version)
                    return changed
            self._version = version
        finally:
            self._refresh_mutex.release()
        if changed:
            self._after_change()
        return changed

    # ---- background maintenance ------------------------------------------------------------
    def _after_change(self) -> None:
        if (
            self.background
            and not self._closed
            and (
                self.params.needs_rebuild(self._index)
                or self._pending >= self.snapshot_every
                or self._urgent
            )
        ):
            self._kick()

    def _defer(self) -> int:
        """A non-blocking refresh could not run now: let the background worker apply the rows."""
        if self.background and not self._closed:
            self._kick()
        return 0

    def _kick(self) -> None:
        with self._bg_mutex:
            if self._bg is not None:
                self._bg_again = True
                return
            self._bg = threading.Thread(
                target=self._background, name=f"vectors-{self.name}", daemon=True
            )
            self._bg.start()

    def _background(self) -> None:
        while True:
            try:
                self.refresh()
                if self.params.needs_rebuild(self._index):
                    self.rebuild()
                elif self._pending or self._urgent:
                    self.snapshot()
            except Exception:  # a failed snapshot must not kill the app; the old one stays valid
                log.exception("vectors[%s]: background snapshot/rebuild failed", self.name)
            with self._bg_mutex:
                if not self._bg_again or self._closed:
                    self._bg = None
                    return
                self._bg_again = False

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Wait for a running background snapshot/rebuild (tests, benchmarks, shutdown)."""
        deadline = time.monotonic() + timeout
        while (thread := self._bg) is not None and time.monotonic() < deadline:
            thread.join(0.05)

    def snapshot(self, *, force: bool = False) -> bool:
        """Persist the index atomically if it changed since the last snapshot; True if written."""
        with self._snap_mutex, self._lock.read():
            state = (self._max_id, self._tomb_seq)
            if state == self._snap_state and not force:
                return False
            ivf = ann.as_ivf(self._index)
            meta = dict(
                self._expect(),
                max_id=state[0],
                tomb_seq=state[1],
                kind=ann.kind_of(self._index),
                nlist=ivf.nlist if ivf is not None else 0,
            )
            with snapshot.lock_for(self._dir, self.name):
                fresher = snapshot.is_fresher(snapshot.read_pointer(self._dir, self.name), meta)
                if force or not fresher:
                    snapshot.write(self._index, self._dir, self.name, meta)
            self._snap_state, self._pending, self._urgent = state, 0, False
            return force or not fresher

    # ---- the public operations -------------------------------------------------------------
    def add(self, owner: str, ref: str, vector: Any) -> int:
        """Insert one vector durably (its own transaction) and add it in memory; returns its row id."""
        return self.add_many([(owner, ref, vector)])[0]

    def add_many(self, rows: Iterable[tuple[str, str, Any]]) -> list[int]:
        """Insert (owner, ref, vector) rows in one transaction; the in-memory add follows."""
        with self._io, db.transaction(self._wconn):
            ids = db.insert_vectors(self._wconn, self.name, rows)
        self.refresh(wait=False, force=True)
        return ids

    def delete(
        self,
        *,
        ids: Iterable[int] | None = None,
        owner: str | None = None,
        refs: Iterable[str] | None = None,
    ) -> int:
        """Delete rows (by ids, owner+refs or owner) from SQLite and the index; returns rows deleted."""
        with self._io, db.transaction(self._wconn):
            n = db.delete_vectors(
                self._wconn,
                self.name,
                ids=None if ids is None else list(ids),
                owner=owner,
                refs=None if refs is None else list(refs),
            )
        self.refresh(force=True)
        return n

    def search(
        self, vector: Any, k: int = 10, *, owner: str | Iterable[str] | None = None
    ) -> list[Hit]:
        """Top-k by cosine, best first; `owner` restricts to rows of that owner (or any of several)."""
        self.refresh()
        query = db.as_unit_rows(vector, self.dim)[0]
        if k <= 0:
            return []
        with self._lock.read(), ann.single_thread():
            # IVF holds fp16 codes: over-fetch, then rank by the float32 truth in SQLite.
            approx = ann.as_ivf(self._index) is not None
            if owner is None:
                pairs = ann.search_all(self._index, query, 2 * k if approx else k)
            else:
                ids = self._owners.ids_of([owner] if isinstance(owner, str) else list(owner))
                if len(ids) <= self.params.exact_owner_max:
                    pairs = ann.search_exact(self._index, query, ids, 4 * k + 16 if approx else k)
                else:
                    pairs = ann.search_selected(self._index, query, ids, 2 * k if approx else k)
            return self._hits(query, pairs, k, rescore=approx)

    def _hits(
        self, query: np.ndarray, pairs: list[tuple[int, float]], k: int, *, rescore: bool
    ) -> list[Hit]:
        """Owner and ref from SQLite; with `rescore`, exact float32 scores pick the best k."""
        if not pairs:
            return []
        with self._io:
            rows, vectors = db.read_hits(
                self._conn, self.name, self.dim, [i for i, _ in pairs], vectors=rescore
            )
        if vectors is not None:
            scored = ann.top_k(np.array([r[0] for r in rows]), vectors @ query, k)
        else:
            scored = pairs
        info = {r[0]: r for r in rows}  # rows deleted since the last refresh drop out here
        return [Hit(i, info[i][1], info[i][2], s) for i, s in scored if i in info]

    def count(self, owner: str | None = None) -> int:
        """Vectors held in memory (all, or one owner's)."""
        with self._lock.read():
            return self._index.ntotal if owner is None else len(self._owners.ids_of([owner]))

    def stats(self) -> dict[str, Any]:
        """Index kind and parameters, size, and the SQLite state it reflects."""
        with self._lock.read():
            ivf = ann.as_ivf(self._index)
            return {
                "name": self.name,
                "dim": self.dim,
                "model": self.model,
                "ntotal": int(self._index.ntotal),
                "kind": ann.kind_of(self._index),
                "nlist": ivf.nlist if ivf is not None else 0,
                "nprobe": ivf.nprobe if ivf is not None else 0,
                "max_id": self._max_id,
                "tomb_seq": self._tomb_seq,
                "snapshot_max_id": self._snap_state[0],
            }

    def close(self, *, snapshot: bool = True) -> None:
        """Stop background work, write a final snapshot if anything changed, close the connection."""
        if self._closed:
            return
        self._closed = True
        self.wait_idle()
        try:
            if snapshot:
                self.snapshot()
        finally:
            with self._io:
                self._conn.close()
                self._wconn.close()

    def __enter__(self) -> VectorIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
