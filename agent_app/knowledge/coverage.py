"""Query coverage of knowledge-base chunks: a lexical ranking fused with BM25 (see memory.lexical)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from agent_app.knowledge.rows import KnowledgeRows
from agent_app.memory.lexical import LexicalScorer, weighted_units

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _contains(unit: str, seg: str, tokens: set[str]) -> bool:
    """Whether a chunk's indexed segmentation holds a query unit (see memory.lexical)."""
    kind, body = unit[0], unit[2:]
    if kind in "bc" or (kind == "w" and _CJK.search(body)):
        # Words, pairs and characters appear verbatim in `seg` (words, then each character).
        return body in seg if kind != "w" else body in tokens
    return body in tokens or (kind == "w" and any(t.startswith(body) for t in tokens))


def coverage_ranking(store: KnowledgeRows, query: str, pool: Sequence[int]) -> list[int]:
    """The pool's chunk ids ordered by how much of the query they contain (none: dropped)."""
    units = weighted_units(query)
    if not pool or not units:
        return []
    # Character pairs are rarely index tokens: their idf comes from the prior (one query less each).
    df = store.doc_freq([u[2:] for u in units if u[0] != "b"])
    scorer = LexicalScorer(store.chunk_count(), {u: df.get(u[2:], 0) for u in units})
    ids = list(dict.fromkeys(pool))
    segs = store.segments(ids)
    weights = scorer.weights(units)
    total = sum(weights.values())
    kept = [i for i in ids if i in segs]
    if total <= 0 or not kept:
        return []
    found = np.zeros(len(kept))
    for row, chunk_id in enumerate(kept):
        seg = segs[chunk_id]
        tokens = set(seg.split())
        found[row] = sum(w for u, w in weights.items() if w > 0 and _contains(u, seg, tokens))
    scores = scorer.coverage(found, total)
    order = np.argsort(-scores, kind="stable")
    return [kept[i] for i in order if scores[i] > 0]
