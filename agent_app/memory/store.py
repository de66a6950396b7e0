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
from langgraph.store.base.embed import get_text_at_path, tokenize_path

from agent_app.errors import ProviderUnavailableError
from agent_app.knowledge.segment import _get_jieba
from agent_app.memory.filters import match_namespace, matches
from agent_app.memory.hybrid import hybrid_search
from agent_app.memory.lexindex import LexicalIndex
from agent_app.memory.reembed import open_vector_index, reembed_items
from agent_app.vectors import connect, delete_vectors, insert_vectors, table, transaction

ConnFactory = Callable[[], sqlite3.Connection]
log = logging.getLogger(__name__)


def _ns(namespace: Sequence[str]) -> str:
    # Labels cannot contain "." (LangGraph validates), so joining with "." is unambiguous.
    return ".".join(namespace)


def _path(field: str) -> Any:
    return field if field == "$" else tokenize_path(field)


def _joined(texts: list[str]) -> str | None:
    return "\n".join(texts) if texts else None


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _connections(
    database: str | Path | ConnFactory, snapshot_dir: str | Path | None
) -> tuple[ConnFactory, str | Path | None]:
    """A connection factory, and the snapshot directory beside a database file by default."""
    if callable(database):
        return database, snapshot_dir
    path = Path(database)
    return (lambda: connect(path)), snapshot_dir or path.parent / f"{path.stem}.vectors"


def _model_name(embedder: Embeddings) -> str:
    """What the vectors are recorded as made by: the embedder's name, model or class."""
    return str(
        getattr(embedder, "name", "") or getattr(embedder, "model", "") or type(embedder).__name__
    )


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
        index_fields: Sequence[str] | None = None,
        name: str = "memory",
        snapshot_dir: str | Path | None = None,
        reembed_on_change: bool = False,
        **index_options: Any,
    ) -> None:
        self._factory, snapshot_dir = _connections(database, snapshot_dir)
        self.embedder, self.name = embedder, name
        # LangGraph's default: the whole value ("$"); the memory service indexes ("text",).
        self.index_fields = tuple(index_fields or ("$",))
        self._paths = [_path(f) for f in self.index_fields]
        # Known dimensions (offline, DashScope) cost nothing; others are probed once.
        self.dims = int(dims or getattr(embedder, "dim", 0) or len(embedder.embed_query("dim")))
        self.model = model or _model_name(embedder)
        self._table = f"{name}_items"
        self.lexical = LexicalIndex(name)
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._create_tables()
        # Recall segments text with jieba (a one-time load of ~1-2 s): start it while the rest of
        # the app starts, not on the first turn. With no memory stored yet recall never segments
        # (and the first write loads it), so a fresh start does not pay for it.
        if self._conn().execute(f"SELECT 1 FROM {self._table} LIMIT 1").fetchone():
            threading.Thread(target=_get_jieba, name="jieba-warmup", daemon=True).start()
        options = dict(index_options, snapshot_dir=snapshot_dir)
        self.index = open_vector_index(self, options, reembed_on_change)

    def _create_tables(self) -> None:
        """The items table, and the lexical index (filled once for a store from before it)."""
        with transaction(self._conn()) as conn:
            conn.execute(f"""CREATE TABLE IF NOT EXISTS {self._table} (ns TEXT NOT NULL,
                key TEXT NOT NULL, value TEXT NOT NULL, created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL, PRIMARY KEY (ns, key))""")
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {self._table}_updated ON {self._table}(ns, updated_at)"
            )
            if self.lexical.create(conn):
                rows = conn.execute(f"SELECT ns, key, value FROM {self._table}").fetchall()
                for ns, key, value in rows:
                    texts = self._texts_of(json.loads(value), None)
                    self.lexical.write(conn, ns, key, _joined(texts))

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
        try:
            if hasattr(self.embedder, "embed_array"):
                return np.asarray(self.embedder.embed_array(texts), dtype=np.float32)
            return np.asarray(self.embedder.embed_documents(texts), dtype=np.float32)
        except Exception as exc:  # a provider outage: a clear message, nothing written yet
            reason = type(exc).__name__
            raise ProviderUnavailableError(
                reason, key="memory.embed_failed", reason=reason
            ) from exc

    def _texts_of(self, value: Mapping[str, Any], index: Any) -> list[str]:
        """The texts to embed, one per field path match (LangGraph: one vector per field)."""
        if index is False:
            return []
        paths = self._paths if index is None else [_path(f) for f in index]
        texts: list[str] = []
        for path in paths:
            texts += [t for t in get_text_at_path(value, path) if t.strip()]
        return texts

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
        """Run `batch` on a worker thread."""
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
        texts = [self._texts_of(op.value, op.index) if op.value is not None else [] for op in puts]
        # Embed before the transaction: a failing embedder leaves nothing half-written.
        flat = self._embed([t for group in texts for t in group])
        now, at = _now(), 0
        with transaction(self._conn()) as conn:
            for op, group in zip(puts, texts, strict=True):
                ns = _ns(op.namespace)
                delete_vectors(conn, self.name, owner=ns, refs=[op.key])
                if op.value is None:
                    conn.execute(
                        f"DELETE FROM {self._table} WHERE ns = ? AND key = ?", (ns, op.key)
                    )
                    self.lexical.write(conn, ns, op.key, None)
                    continue
                conn.execute(
                    f"""INSERT INTO {self._table}(ns, key, value, created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?) ON CONFLICT(ns, key)
                        DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at""",
                    (ns, op.key, _dumps(op.value), now, now),
                )
                self.lexical.write(conn, ns, op.key, _joined(group))
                # Several vectors may share a ref: one per indexed field, the best one scores.
                insert_vectors(
                    conn, self.name, [(ns, op.key, v) for v in flat[at : at + len(group)]]
                )
                at += len(group)
        self.index.refresh(wait=False, force=True)

    def _search(self, op: SearchOp) -> list[SearchItem]:
        if op.query:
            return self._vector_search(op)
        return self._filtered(op.namespace_prefix, op.filter, op.limit, op.offset)

    def _filtered(
        self,
        prefix: Sequence[str],
        filter: dict[str, Any] | None,
        limit: int,
        offset: int,
        *,
        unembedded: bool = False,
    ) -> list[SearchItem]:
        """Items by recency; `unembedded`: only those without a vector."""
        where, args = self._prefix_sql(prefix)
        if unembedded:
            where += f""" AND NOT EXISTS (SELECT 1 FROM {table(self.name)} v
                          WHERE v.owner = {self._table}.ns AND v.ref = {self._table}.key)"""
        sql = f"""SELECT ns, key, value, created_at, updated_at FROM {self._table} WHERE {where}
                  ORDER BY updated_at DESC, ns, key"""
        if not filter:
            rows = self._conn().execute(f"{sql} LIMIT ? OFFSET ?", [*args, limit, offset])
            return [self._hit(r) for r in rows]
        found = (r for r in self._conn().execute(sql, args) if matches(json.loads(r[2]), filter))
        picked = [r for _, r in zip(range(offset + limit), found, strict=False)][offset:]
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
        items = self.vector_candidates(query, owners, op.offset + op.limit, op.filter)
        page = items[op.offset : op.offset + op.limit]
        if len(page) < op.limit:
            # LangGraph's contract: items with nothing embedded fill the page, unscored.
            page += self._filtered(
                op.namespace_prefix, op.filter, op.limit - len(page), 0, unembedded=True
            )
        return page

    def vector_candidates(
        self,
        query: np.ndarray,
        owners: list[str] | None,
        want: int,
        filter: dict[str, Any] | None = None,
    ) -> list[SearchItem]:
        """Best-first items by their best field's cosine (max pooling), at least `want` if any."""
        k = max(want, 1) * (4 if filter else 2)
        while True:
            best, exhausted = self.vector_scores(query, owners, k)
            items = self._fetch([(ns, key, score) for (ns, key), score in best.items()])
            if filter:
                items = [it for it in items if matches(it.value, filter)]
            # Several fields per item and filters both thin the hits: widen until enough.
            if len(items) >= want or exhausted:
                return items
            k *= 4

    def vector_scores(
        self, query: np.ndarray, owners: list[str] | None, k: int
    ) -> tuple[dict[tuple[str, str], float], bool]:
        """(ns, key) → best field's cosine among the top-k vectors, and whether fewer exist."""
        hits = self.index.search(query, k, owner=owners)
        best: dict[tuple[str, str], float] = {}
        for h in hits:  # hits are best first: the first of a ref is its best field
            best.setdefault((h.owner, h.ref), h.score)
        return best, len(hits) < k

    def _fetch(self, keys: list[tuple[str, str, float]]) -> list[SearchItem]:
        if not keys:
            return []
        found: dict[tuple[str, str], Any] = {}
        for start in range(0, len(keys), 400):  # SQLite caps bound parameters per statement
            part = keys[start : start + 400]
            pairs = ",".join("(?, ?)" for _ in part)
            rows = self._conn().execute(
                f"""SELECT ns, key, value, created_at, updated_at FROM {self._table}
                    WHERE (ns, key) IN (VALUES {pairs})""",
                [x for ns, key, _ in part for x in (ns, key)],
            )
            found.update(((r[0], r[1]), r) for r in rows)
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

    # ---- maintenance ---------------------------------------------------------------------------
    def reembed(self) -> None:
        """Re-embed every item with the current embedder (agent_app.memory.reembed)."""
        reembed_items(self)

    def close(self) -> None:
        """Snapshot the index and close every connection."""
        self.index.close()
        with self._conns_lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()

    def hybrid_search(
        self,
        namespace: Sequence[str],
        query: str,
        limit: int = 5,
        *,
        filter: dict[str, Any] | None = None,
        gated: bool = True,
    ) -> tuple[list[SearchItem], bool]:
        """Lexical + vector search with calibrated scores (agent_app.memory.hybrid)."""
        return hybrid_search(self, namespace, query, limit, filter=filter, gated=gated)
