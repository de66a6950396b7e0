"""Per-namespace lexical index of the memory store: units in SQLite, postings cached in memory."""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np

from agent_app.memory.lexical import LexicalScorer, units

CACHED_NAMESPACES = 256  # one entry per active user: postings of their memories


class _Postings:
    """One namespace's texts as an inverted index (unit → row numbers) with its scorer's stats."""

    def __init__(self, keys: list[str], docs: list[list[str]]) -> None:
        self.keys = keys
        self.scorer = LexicalScorer.from_counts(len(docs), docs)
        lists: dict[str, list[int]] = {}
        for row, doc in enumerate(docs):
            for unit in doc:
                lists.setdefault(unit, []).append(row)
        self.rows = {u: np.asarray(r, dtype=np.int32) for u, r in lists.items()}

    def scores(self, query: Mapping[str, float]) -> dict[str, float]:
        """Coverage of the query by each text that shares at least one unit with it."""
        weights = self.scorer.weights(query)
        total = sum(weights.values())
        if total <= 0 or not self.keys:
            return {}
        found = np.zeros(len(self.keys), dtype=np.float64)
        for unit, weight in weights.items():
            rows = self.rows.get(unit)
            if rows is not None and weight > 0:
                found[rows] += weight
        hit = np.flatnonzero(found > 0)
        share = self.scorer.coverage(found[hit], total)
        return {self.keys[i]: float(s) for i, s in zip(hit, share, strict=True)}


class LexicalIndex:
    """`<name>_lex(ns, key, units)` written with the items; a trigger-kept generation per namespace."""

    def __init__(self, name: str) -> None:
        self.table, self.gen_table = f"{name}_lex", f"{name}_lexgen"
        self._cache: OrderedDict[str, tuple[int, _Postings]] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, conn: sqlite3.Connection) -> bool:
        """Tables and triggers (inside the caller's transaction); True when the table is new.

        A new table next to existing items (a store from before the lexical side) must be filled.
        """
        t, g = self.table, self.gen_table
        fresh = not conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (t,)).fetchone()
        conn.execute(f"""CREATE TABLE IF NOT EXISTS {t} (ns TEXT NOT NULL, key TEXT NOT NULL,
            units TEXT NOT NULL, PRIMARY KEY (ns, key))""")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {g} (ns TEXT PRIMARY KEY, gen INTEGER NOT NULL)")
        # Any change by any process bumps the namespace's generation: caches compare it.
        bump = f"""INSERT INTO {g}(ns, gen) VALUES (%s, 1)
                   ON CONFLICT(ns) DO UPDATE SET gen = gen + 1"""
        for event, row in (("INSERT", "new"), ("DELETE", "old"), ("UPDATE", "new")):
            conn.execute(
                f"""CREATE TRIGGER IF NOT EXISTS {t}_{event.lower()} AFTER {event} ON {t}
                    BEGIN {bump % (row + ".ns")}; END"""
            )
        return fresh

    def write(self, conn: sqlite3.Connection, ns: str, key: str, text: str | None) -> None:
        """Replace the units of one item (None or empty: the item has no lexical side)."""
        conn.execute(f"DELETE FROM {self.table} WHERE ns = ? AND key = ?", (ns, key))
        found = units(text) if text else []
        if found:
            conn.execute(
                f"INSERT INTO {self.table}(ns, key, units) VALUES (?, ?, ?)",
                (ns, key, " ".join(found)),
            )

    def scores(
        self, conn: sqlite3.Connection, namespaces: Sequence[str], query: Mapping[str, float]
    ) -> dict[tuple[str, str], float]:
        """(ns, key) → coverage in [0, 1] for every item of these namespaces sharing a unit."""
        out: dict[tuple[str, str], float] = {}
        for ns in namespaces:
            postings = self._postings(conn, ns)
            out.update(((ns, key), s) for key, s in postings.scores(query).items())
        return out

    def _postings(self, conn: sqlite3.Connection, ns: str) -> _Postings:
        row = conn.execute(f"SELECT gen FROM {self.gen_table} WHERE ns = ?", (ns,)).fetchone()
        gen = int(row[0]) if row else 0
        with self._lock:
            cached = self._cache.get(ns)
            if cached is not None and cached[0] == gen:
                self._cache.move_to_end(ns)
                return cached[1]
        rows = conn.execute(f"SELECT key, units FROM {self.table} WHERE ns = ?", (ns,)).fetchall()
        postings = _Postings([k for k, _ in rows], [u.split(" ") for _, u in rows])
        with self._lock:
            self._cache[ns] = (gen, postings)
            while len(self._cache) > CACHED_NAMESPACES:
                self._cache.popitem(last=False)
        return postings
