"""VectorIndex: an in-memory FAISS index derived from a SQLite vector table, kept current and snapshotted."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from agent_app.vectors import ann, db, snapshot
from agent_app.vectors.ann import IndexParams
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
        with snapshot.lock_for(self._dir, self.name):  # no concurrent writer may swap files under us
            try:
                index, pointer = snapshot.load(self._dir, self.name, self._expect())
            except snapshot.SnapshotInvalid as exc:
                index, pointer, reason = None, None, str(exc)
        if index is not None and pointer is not None:
            with self._io:
                rows = db.read_rows(self._conn, self.name, self.dim, pointer["max_id"],
                                    pointer["tomb_seq"], refs=True)
            self._apply(index, rows, maps=False)
            if index.ntotal == rows.count:
                self._install(index, rows, rows.all_refs or [], version)
                self._snap_state = (pointer["max_id"], pointer["tomb_seq"])
                log.info("vectors[%s]: snapshot loaded (%d vectors, +%d new, -%d deleted) in %.0f ms",
                         self.name, index.ntotal, len(rows.ids), len(rows.dead),
                         1000 * (time.perf_counter() - started))
                self._after_change()
                return
            reason = f"inconsistent (index {index.ntotal} vectors, SQLite {rows.count} rows)"
        self._rebuild_from_scratch(reason, version)

    def _rebuild_from_scratch(self, reason: str, version: int) -> None:
        with self._io:
            rows = db.read_rows(self._conn, self.name, self.dim, 0, 0)
        level = logging.INFO if reason == "missing" and not rows.count else logging.WARNING
        log.log(level, "vectors[%s]: snapshot %s, rebuilding from SQLite (%d rows)",
                self.name, reason, rows.count)
        # Exact flat first: ready in well under a second; the IVF lists are trained in the background.
        index = ann.build(self.dim, rows.ids, rows.vectors, self.params, kind="flat")
        refs = list(zip(rows.ids.tolist(), rows.owners, rows.refs, strict=True))
        with self._lock.write():
            self._install(index, rows, refs, version)
            self._snap_state = (-1, -1)
            self._urgent = rows.count > 0  # so that the next start loads instead of rebuilding
        self._after_change()

    def _install(self, index: faiss.Index, rows: db.Rows, refs: list[tuple[int, str, str]],
                 version: int) -> None:
        ann.tune(index, self.params)
        self._index = index
        self._refs: dict[int, tuple[str, str]] = {i: (o, r) for i, o, r in refs}
        self._owners: dict[str, set[int]] = {}
        for i, o, _ in refs:
            self._owners.setdefault(o, set()).add(i)
        self._owner_arrays: dict[str, np.ndarray] = {}
        self._max_id, self._tomb_seq, self._version = rows.max_id, rows.tomb_seq, version
        self._pending, self._urgent = 0, False

    def rebuild(self, kind: str = "auto") -> None:
        """Rebuild the index from SQLite (retrains IVF lists), swap it in and snapshot it."""
        started = time.perf_counter()
        with self._io:
            rows = db.read_rows(self._conn, self.name, self.dim, 0, 0)
        index = ann.build(self.dim, rows.ids, rows.vectors, self.params, kind=kind)
        refs = list(zip(rows.ids.tolist(), rows.owners, rows.refs, strict=True))
        built_at = (rows.max_id, rows.tomb_seq)
        del rows
        with self._refresh_mutex:  # rows committed while we trained are applied before the swap
            with self._io:
                version = db.data_version(self._conn)
                delta = db.read_rows(self._conn, self.name, self.dim, *built_at)
            with self._lock.write():
                self._apply(index, delta, maps=False)
                dead = set(delta.dead.tolist())
                refs = [r for r in refs if r[0] not in dead]
                refs += list(zip(delta.ids.tolist(), delta.owners, delta.refs, strict=True))
                self._install(index, delta, refs, version)
        log.info("vectors[%s]: rebuilt %s index of %d vectors in %.1f s", self.name,
                 ann.kind_of(index), index.ntotal, time.perf_counter() - started)
        self.snapshot(force=True)

    # ---- keeping up with SQLite ------------------------------------------------------------
    def _apply(self, index: faiss.Index, rows: db.Rows, *, maps: bool = True) -> None:
        """Remove tombstoned ids and add new rows (to the id maps too when `maps`)."""
        ann.remove(index, rows.dead)
        fresh = rows.ids
        if len(fresh):
            index.add_with_ids(np.ascontiguousarray(rows.vectors), fresh)
        if not maps:
            return
        for vid in rows.dead.tolist():
            owner_ref = self._refs.pop(vid, None)
            if owner_ref:
                self._owners.get(owner_ref[0], set()).discard(vid)
                self._owner_arrays.pop(owner_ref[0], None)
        for vid, owner, ref in zip(fresh.tolist(), rows.owners, rows.refs, strict=True):
            self._refs[vid] = (owner, ref)
            self._owners.setdefault(owner, set()).add(vid)
            self._owner_arrays.pop(owner, None)

    def refresh(self, *, wait: bool = True, force: bool = False) -> int:
        """Apply rows and deletions committed since the last refresh (by any process); returns the count."""
        with self._io:
            version = db.data_version(self._conn)
        if version == self._version and not force:
            return 0
        if not self._refresh_mutex.acquire(blocking=wait):
            return 0
        try:
            with self._io:
                rows = db.read_rows(self._conn, self.name, self.dim, self._max_id, self._tomb_seq)
            changed = len(rows.ids) + len(rows.dead)
            if changed:
                with self._lock.write(blocking=wait) as held:
                    if not held:  # a snapshot is being written; the next refresh applies these rows
                        return 0
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
        if self.background and not self._closed and (
            self.params.needs_rebuild(self._index)
            or self._pending >= self.snapshot_every
            or self._urgent
        ):
            self._kick()

    def _kick(self) -> None:
        with self._bg_mutex:
            if self._bg is not None:
                self._bg_again = True
                return
            self._bg = threading.Thread(target=self._background, name=f"vectors-{self.name}", daemon=True)
            self._bg.start()

    def _background(self) -> None:
        while True:
            try:
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
            meta = dict(self._expect(), max_id=state[0], tomb_seq=state[1],
                        kind=ann.kind_of(self._index), nlist=ivf.nlist if ivf is not None else 0)
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

    def delete(self, *, ids: Iterable[int] | None = None, owner: str | None = None,
               refs: Iterable[str] | None = None) -> int:
        """Delete rows (by ids, owner+refs or owner) from SQLite and the index; returns rows deleted."""
        with self._io, db.transaction(self._wconn):
            n = db.delete_vectors(self._wconn, self.name, ids=None if ids is None else list(ids),
                                  owner=owner, refs=None if refs is None else list(refs))
        self.refresh(force=True)
        return n

    def search(self, vector: Any, k: int = 10, *, owner: str | Iterable[str] | None = None) -> list[Hit]:
        """Top-k by cosine, best first; `owner` restricts to rows of that owner (or any of several)."""
        self.refresh()
        query = db.as_unit_rows(vector, self.dim)[0]
        if k <= 0:
            return []
        with self._lock.read():
            if owner is None:
                pairs = ann.search_all(self._index, query, k)
            else:
                ids = self._ids_of([owner] if isinstance(owner, str) else list(owner))
                if len(ids) <= self.params.exact_owner_max:
                    pairs = ann.search_exact(self._index, query, ids, k)
                else:
                    pairs = ann.search_selected(self._index, query, ids, k)
            return [Hit(i, *self._refs[i], s) for i, s in pairs if i in self._refs]

    def _ids_of(self, owners: list[str]) -> np.ndarray:
        arrays = []
        for owner in owners:
            arr = self._owner_arrays.get(owner)
            if arr is None:
                arr = np.fromiter(sorted(self._owners.get(owner, ())), dtype=np.int64)
                self._owner_arrays[owner] = arr  # benign race: any reader computes the same array
            arrays.append(arr)
        return np.unique(np.concatenate(arrays)) if len(arrays) > 1 else (arrays or [np.empty(0, np.int64)])[0]

    def count(self, owner: str | None = None) -> int:
        """Vectors held in memory (all, or one owner's)."""
        with self._lock.read():
            return self._index.ntotal if owner is None else len(self._owners.get(owner, ()))

    def stats(self) -> dict[str, Any]:
        """Index kind and parameters, size, and the SQLite state it reflects."""
        with self._lock.read():
            ivf = ann.as_ivf(self._index)
            return {"name": self.name, "dim": self.dim, "model": self.model,
                    "ntotal": int(self._index.ntotal), "kind": ann.kind_of(self._index),
                    "nlist": ivf.nlist if ivf is not None else 0,
                    "nprobe": ivf.nprobe if ivf is not None else 0,
                    "max_id": self._max_id, "tomb_seq": self._tomb_seq,
                    "snapshot_max_id": self._snap_state[0]}

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
