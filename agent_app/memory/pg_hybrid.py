"""Hybrid memory search on PostgreSQL: the SQLite store's lexical coverage and gating, pgvector's cosine."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, cast

from langgraph.store.base import GetOp, SearchItem
from langgraph.store.postgres import PostgresStore

from agent_app.memory.filters import matches
from agent_app.memory.hybrid import VECTOR_DEPTH
from agent_app.memory.lexical import MAX_QUERY_CHARS, units, weighted_units
from agent_app.memory.lexindex import CACHED_NAMESPACES, _Postings
from agent_app.memory.recall import calibration_for, fuse, recall_floor

log = logging.getLogger(__name__)


class PgLexical:
    """One namespace's memories as postings, rebuilt when its item count or newest change moves."""

    def __init__(self) -> None:
        self._cache: OrderedDict[str, tuple[Any, _Postings]] = OrderedDict()
        self._lock = threading.Lock()

    def scores(
        self, store: PostgresStore, ns: tuple[str, ...], query: str
    ) -> dict[Any, float] | None:
        """(namespace, key) → coverage in [0, 1] of the query by each of the namespace's items.

        None when the namespace holds nothing: the query is not even segmented.
        """
        prefix = ".".join(ns)
        with cast(Any, store.conn).connection() as conn:
            state = conn.execute(
                "SELECT COUNT(*), MAX(updated_at) FROM store WHERE prefix = %s", (prefix,)
            ).fetchone()
            if not state or not state[0]:
                return None
            with self._lock:
                cached = self._cache.get(prefix)
            if cached is None or cached[0] != state:
                rows = conn.execute(
                    "SELECT key, value->>'text' FROM store WHERE prefix = %s", (prefix,)
                ).fetchall()
                docs = [(k, units(t)) for k, t in rows if isinstance(t, str) and t]
                cached = (state, _Postings([k for k, _ in docs], [u for _, u in docs]))
                with self._lock:
                    self._cache[prefix] = cached
                    while len(self._cache) > CACHED_NAMESPACES:
                        self._cache.popitem(last=False)
        return {(ns, key): s for key, s in cached[1].scores(weighted_units(query)).items()}


def pg_hybrid_search(
    store: Any,
    namespace: Sequence[str],
    query: str,
    limit: int = 5,
    *,
    filter: dict[str, Any] | None = None,
    gated: bool = True,
) -> tuple[list[SearchItem], bool]:
    """Best-first items of one namespace with a fused score in [0, 1], and whether vectors ran.

    The same fusion, calibration and recall floor as memory.hybrid on SQLite (docs/retrieval.md).
    """
    query, ns = query[:MAX_QUERY_CHARS], tuple(namespace)
    if not query.strip() or limit <= 0:
        return [], True
    lexical = store.lexical.scores(store, ns, query)
    if lexical is None:  # no memories: no embedding, no vector query (as on SQLite)
        return [], True
    cal = calibration_for(store.model)
    cosine: dict[Any, float] = {}
    known: dict[Any, Any] = {}  # vector hits carry their item: no second read for those
    vector_ok = True
    if store.index_config:
        try:
            vector = store.embeddings.embed_query(query)
        except Exception as exc:  # a provider outage must not fail recall: lexical only
            log.warning("memory search: embedder failed (%s), lexical only", type(exc).__name__)
            vector_ok = False
        else:
            hits = nearest(store, ns, vector, max(VECTOR_DEPTH, 2 * limit))
            known = {(it.namespace, it.key): it for it in hits}
            cosine = {k: float(it.score) for k, it in known.items() if it.score is not None}
    fused = fuse(lexical, cosine, cal, vector_ok=vector_ok)
    floor = recall_floor(query, cal) if gated else 0.0
    ranked = sorted(
        ((s, k) for k, s in fused.items() if s > 0 and s >= floor), key=lambda p: (-p[0], p[1])
    )
    return _best_items(store, ranked, known, limit, filter), vector_ok


# The user's own vectors, compared exactly: HNSW over every user's vectors returns its nearest
# `ef_search` (40) first and filters by namespace afterwards, which at 100 users × 1,000 memories
# leaves nothing of the one asked about. A user's memories are few enough to scan (1,000 × 512-d:
# a few milliseconds); MATERIALIZED keeps the planner off the global index, and only the best few
# items are read from `store`.
NEAREST_SQL = """
WITH mine AS MATERIALIZED (
    SELECT key, embedding <=> %(vector)s::vector AS distance
    FROM store_vectors WHERE prefix = %(prefix)s
), best AS MATERIALIZED (
    SELECT key, distance FROM mine ORDER BY distance, key LIMIT %(limit)s
)
SELECT b.key, s.value, s.created_at, s.updated_at, 1 - b.distance
FROM best b JOIN store s ON s.prefix = %(prefix)s AND s.key = b.key
ORDER BY b.distance, b.key
"""


def nearest(store: Any, ns: tuple[str, ...], vector: list[float], limit: int) -> list[SearchItem]:
    """The namespace's items nearest to the vector, with their cosine similarity as score."""
    literal = "[" + ",".join(repr(float(x)) for x in vector) + "]"  # pgvector's text form
    params = {"vector": literal, "prefix": ".".join(ns), "limit": limit}
    with cast(Any, store.conn).connection() as conn:
        rows = conn.execute(NEAREST_SQL, params).fetchall()
    return [SearchItem(ns, key, value, created, updated, float(score))
            for key, value, created, updated, score in rows]  # fmt: skip


def _best_items(
    store: Any, ranked: list[Any], known: dict[Any, Any], limit: int, filter: Any
) -> list[SearchItem]:
    """The first `limit` ranked items passing the filter; the unknown ones read a window at a time."""
    items: list[SearchItem] = []
    for start in range(0, len(ranked), 2 * limit):  # one round trip per window, not per item
        window = ranked[start : start + 2 * limit]
        missing = [k for _, k in window if k not in known]
        if missing:
            got = PostgresStore.batch(store, [GetOp(item_ns, key) for item_ns, key in missing])
            known.update({k: it for k, it in zip(missing, got, strict=True) if it is not None})
        for score, k in window:
            item = known.get(k)
            if item is not None and matches(item.value, filter):
                items.append(SearchItem(item.namespace, item.key, item.value, item.created_at,
                                        item.updated_at, score))  # fmt: skip
                if len(items) >= limit:
                    return items
    return items
