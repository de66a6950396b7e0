"""SqliteFaissStore: a LangGraph BaseStore with items in SQLite and FAISS-backed semantic search."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    validate_op_namespace,
)

from agent_app.memory.filters import match_namespace, matches
from agent_app.vectors import (
    EmbeddingMismatchError,
    VectorIndex,
    connect,
    delete_vectors,
    insert_vectors,
    reset_vectors,
    transaction,
)

ConnFactory = Callable[[], sqlite3.Connection]
log = logging.getLogger(__name__)


def _ns(namespace: Sequence[str]) -> str:
    # Labels cannot contain "." (LangGraph validates), so joining with "." is unambiguous.
    return ".".join(namespace)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _dumps(value: Mapping[str, Any]) -> str:
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escaped JSON still round-trips exactly
        text = json.dumps(value, ensure_ascii=True)
    return text


class SqliteFaissStore(BaseStore):
    """Items in `<name>_items`; the embedded fields' vector in `vec_<name>` (agent_app.vectors)."""

    supports_ttl = False

    def __init__(
        self,
        database: str | Path | ConnFactory,
        embedder: Embeddings,
        *,
        dims: int | None = None,
        model: str | None = None,
        index_fields: Sequence[str] = ("text",),
        name: str = "memory",
        snapshot_dir: str | Path | None = None,
        reembed_on_change: bool = False,
        **index_options: Any,
    ) -> None:
        if callable(database):
            self._factory: ConnFactory = database
        else:
            path = Path(database)
            self._factory = lambda: connect(path)
            snapshot_dir = snapshot_dir or path.parent / f"{path.stem}.vectors"
        self.embedder, self.name, self.index_fields = embedder, name, tuple(index_fields)
        self.dims = int(dims or getattr(embedder, "dim", 0) or len(embedder.embed_query("dim")))
        self.model = model or str(
            getattr(embedder, "name", "")
            or getattr(embedder, "model", "")
            or type(embedder).__name__
        )
        self._table = f"{name}_items"
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        with transaction(self._conn()) as conn:
            conn.execute(f"""CREATE TABLE IF NOT EXISTS {self._table} (ns TEXT NOT NULL,
                key TEXT NOT NULL, value TEXT NOT NULL, created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL, PRIMARY KEY (ns, key))""")
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {self._table}_updated ON {self._table}(ns, updated_at)"
            )
        options = dict(index_options, snapshot_dir=snapshot_dir)
        try:
            self.index = VectorIndex(
                self._factory, name, dim=self.dims, model=self.model, **options
            )
        except EmbeddingMismatchError:
            if not reembed_on_change:
                raise
            self._reembed_rows()
            self.index = VectorIndex(
                self._factory, name, dim=self.dims, model=self.model, **options
            )

    # ---- plumbing -----------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._factory()
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        if hasattr(self.embedder, "embed_array"):
            return np.asarray(self.embedder.embed_array(texts), dtype=np.float32)
        return np.asarray(self.embedder.embed_documents(texts), dtype=np.float32)

    def _text_of(self, value: Mapping[str, Any], index: Any) -> str | None:
        if index is False:
            return None
        fields = self.index_fields if index is None else tuple(index)
        parts = [value[f] for f in fields if isinstance(value.get(f), str) and value[f].strip()]
        return "\n".join(parts) if parts else None

    @staticmethod
    def _fields(row: Sequence[Any]) -> dict[str, Any]:
        ns, key, value, created, updated = row[:5]
        return dict(
            namespace=tuple(ns.split(".")),
            key=key,
            value=json.loads(value),
            created_at=datetime.fromisoformat(created),
            updated_at=datetime.fromisoformat(updated),
        )

    def _item(self, row: Sequence[Any]) -> Item:
        return Item(**self._fields(row))

    def _hit(self, row: Sequence[Any], score: float | None = None) -> SearchItem:
        return SearchItem(score=score, **self._fields(row))

    def _prefix_sql(self, prefix: Sequence[str]) -> tuple[str, list[str]]:
        if not prefix:
            return "1", []
        ns = _ns(prefix)
        # "a.b." ≤ child < "a.b/" ('/' follows '.') — a range scan on the primary key.
        return "(ns = ? OR (ns >= ? AND ns < ?))", [ns, ns + ".", ns + "/"]

    # ---- BaseStore ----------------------------------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Reads see the state before this batch's writes (as InMemoryStore); writes are one transaction."""
        ops = list(ops)
        for op in ops:
            validate_op_namespace(op)
        results: list[Result] = [None] * len(ops)
        puts: dict[tuple[str, str], PutOp] = {}
        for i, op in enumerate(ops):
            if isinstance(op, PutOp):
                puts[(_ns(op.namespace), op.key)] = op  # the last put of a key wins
            elif isinstance(op, GetOp):
                results[i] = self._get(op)
            elif isinstance(op, SearchOp):
                results[i] = self._search(op)
            elif isinstance(op, ListNamespacesOp):
                results[i] = self._list_namespaces(op)
            else:
                raise ValueError(f"unknown store operation {type(op).__name__}")
        if puts:
            self._apply_puts(list(puts.values()))
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, list(ops))

    def _get(self, op: GetOp) -> Item | None:
        row = (
            self._conn()
            .execute(
                f"SELECT ns, key, value, created_at, updated_at FROM {self._table} WHERE ns = ? AND key = ?",
                (_ns(op.namespace), op.key),
            )
            .fetchone()
        )
        return self._item(row) if row else None

    def _apply_puts(self, puts: list[PutOp]) -> None:
        texts = {
            i: self._text_of(op.value, op.index)
            for i, op in enumerate(puts)
            if op.value is not None
        }
        wanted = [i for i, t in texts.items() if t is not None]
        # Embed before the transaction: a failing embedder leaves nothing half-written.
        vectors = self._embed([texts[i] or "" for i in wanted])
        vector_of = dict(zip(wanted, vectors, strict=True))
        now = _now()
        with transaction(self._conn()) as conn:
            for i, op in enumerate(puts):
                ns = _ns(op.namespace)
                delete_vectors(conn, self.name, owner=ns, refs=[op.key])
                if op.value is None:
                    conn.execute(
                        f"DELETE FROM {self._table} WHERE ns = ? AND key = ?", (ns, op.key)
                    )
                    continue
                conn.execute(
                    f"""INSERT INTO {self._table}(ns, key, value, created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?) ON CONFLICT(ns, key)
                        DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at""",
                    (ns, op.key, _dumps(op.value), now, now),
                )
                if i in vector_of:
                    insert_vectors(conn, self.name, [(ns, op.key, vector_of[i])])
        self.index.refresh(wait=False, force=True)

    def _search(self, op: SearchOp) -> list[SearchItem]:
        if op.query:
            return self._vector_search(op)
        where, args = self._prefix_sql(op.namespace_prefix)
        sql = f"""SELECT ns, key, value, created_at, updated_at FROM {self._table} WHERE {where}
                  ORDER BY updated_at DESC, ns, key"""
        if not op.filter:
            rows = self._conn().execute(f"{sql} LIMIT ? OFFSET ?", [*args, op.limit, op.offset])
            return [self._hit(r) for r in rows]
        found = (r for r in self._conn().execute(sql, args) if matches(json.loads(r[2]), op.filter))
        picked = [r for _, r in zip(range(op.offset + op.limit), found, strict=False)][op.offset :]
        return [self._hit(r) for r in picked]

    def _owners(self, prefix: Sequence[str]) -> list[str] | None:
        if not prefix:
            return None
        where, args = self._prefix_sql(prefix)
        rows = self._conn().execute(f"SELECT DISTINCT ns FROM {self._table} WHERE {where}", args)
        return [r[0] for r in rows]

    def _vector_search(self, op: SearchOp) -> list[SearchItem]:
        owners = self._owners(op.namespace_prefix)
        if owners == []:
            return []
        query = self._embed([str(op.query)])[0]
        want, k = op.offset + op.limit, (op.offset + op.limit) * (4 if op.filter else 1)
        while True:
            hits = self.index.search(query, k, owner=owners)
            items = self._fetch([(h.owner, h.ref, h.score) for h in hits])
            if op.filter:
                items = [it for it in items if matches(it.value, op.filter)]
            # A filter may reject many candidates: widen until enough pass or none are left.
            if len(items) >= want or len(hits) < k:
                return items[op.offset : want]
            k *= 4

    def _fetch(self, keys: list[tuple[str, str, float]]) -> list[SearchItem]:
        if not keys:
            return []
        pairs = ",".join("(?, ?)" for _ in keys)
        rows = self._conn().execute(
            f"""SELECT ns, key, value, created_at, updated_at FROM {self._table}
                WHERE (ns, key) IN (VALUES {pairs})""",
            [part for ns, key, _ in keys for part in (ns, key)],
        )
        found = {(r[0], r[1]): r for r in rows}
        # Rank order is kept; a row deleted since the index was refreshed is simply skipped.
        return [self._hit(found[(ns, key)], score) for ns, key, score in keys if (ns, key) in found]

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        rows = self._conn().execute(f"SELECT DISTINCT ns FROM {self._table}").fetchall()
        found: set[tuple[str, ...]] = set()
        for (ns,) in rows:
            labels = tuple(ns.split("."))
            if all(
                match_namespace(labels, c.match_type, c.path) for c in op.match_conditions or ()
            ):
                found.add(labels[: op.max_depth] if op.max_depth else labels)
        return sorted(found)[op.offset : op.offset + op.limit]

    # ---- maintenance --------------------------------------------------------------------------
    def _reembed_rows(self) -> None:
        """Re-embed every item with the current embedder (after an embedder change)."""
        rows = self._conn().execute(f"SELECT ns, key, value FROM {self._table}").fetchall()
        texts = [(ns, key, self._text_of(json.loads(v), None)) for ns, key, v in rows]
        chosen = [(ns, key, text) for ns, key, text in texts if text]
        log.warning(
            "memory store %s: embedder changed to %s (%d-d), re-embedding %d items",
            self.name,
            self.model,
            self.dims,
            len(chosen),
        )
        vectors = self._embed([text for _, _, text in chosen])
        with transaction(self._conn()) as conn:
            reset_vectors(conn, self.name, self.dims, self.model)
            insert_vectors(
                conn,
                self.name,
                [(ns, key, vec) for (ns, key, _), vec in zip(chosen, vectors, strict=True)],
            )

    def close(self) -> None:
        """Snapshot the index and close every connection."""
        self.index.close()
        with self._conns_lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
