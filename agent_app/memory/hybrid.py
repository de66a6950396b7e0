"""Hybrid memory search over SqliteFaissStore: lexical coverage + vector cosine, fused and gated."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langgraph.store.base import SearchItem

from agent_app.memory.filters import matches
from agent_app.memory.lexical import MAX_QUERY_CHARS, weighted_units
from agent_app.memory.recall import calibration_for, fuse, recall_floor

if TYPE_CHECKING:
    from agent_app.memory.store import SqliteFaissStore

log = logging.getLogger(__name__)
VECTOR_DEPTH = 50  # vector candidates per query; the lexical side scores every matching item


def hybrid_search(
    store: SqliteFaissStore,
    namespace: Sequence[str],
    query: str,
    limit: int = 5,
    *,
    filter: dict[str, Any] | None = None,
    gated: bool = True,
) -> tuple[list[SearchItem], bool]:
    """Best-first items of one namespace with a fused score in [0, 1], and whether vectors ran.

    `gated`: drop items below the calibrated recall floor (nothing unrelated is recalled).
    When the embedder fails (rate limit, timeout) the lexical side answers alone.
    """
    query = query[:MAX_QUERY_CHARS]
    owners = store._owners(namespace)
    if not owners or not query.strip() or limit <= 0:
        return [], True
    cal = calibration_for(store.model)
    conn = store._conn()
    lexical = store.lexical.scores(conn, owners, weighted_units(query))
    cosine: dict[tuple[str, str], float] = {}
    vector_ok = True
    try:
        vector = store._embed([query])[0]
    except Exception as exc:  # a provider outage must not fail recall: lexical only
        log.warning("memory search: embedder failed (%s), lexical results only", type(exc).__name__)
        vector_ok = False
    else:
        cosine, _ = store.vector_scores(vector, owners, max(VECTOR_DEPTH, 2 * limit))
    fused = fuse(lexical, cosine, cal, vector_ok=vector_ok)
    floor = recall_floor(query, cal) if gated else 0.0
    ranked = sorted(
        ((s, k) for k, s in fused.items() if s > 0 and s >= floor), key=lambda p: (-p[0], p[1])
    )
    items: list[SearchItem] = []
    for start in range(0, len(ranked), 4 * limit):
        part = ranked[start : start + 4 * limit]
        found = store._fetch([(ns, key, score) for score, (ns, key) in part])
        items += [it for it in found if matches(it.value, filter)]
        if len(items) >= limit:
            break
    return items[:limit], vector_ok
