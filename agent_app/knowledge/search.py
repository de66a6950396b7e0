"""Hybrid retrieval: BM25 over jieba tokens, query coverage and vectors, fused by reciprocal rank."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from agent_app.knowledge.backends import KBVectorSide
from agent_app.knowledge.coverage import coverage_ranking
from agent_app.knowledge.embedders import Embedder
from agent_app.knowledge.rerank import RERANK_DEPTH, rerank_hits
from agent_app.knowledge.rows import KnowledgeRows
from agent_app.knowledge.segment import query_terms

log = logging.getLogger(__name__)
RRF_K = 60  # the usual reciprocal-rank constant: damps the difference between ranks 1 and 2
MIN_COSINE = 0.05  # below this the vector side is noise, not a match
MAX_QUERY_CHARS = 2_000
COVERAGE_WEIGHT = 1.0  # as much as BM25: chosen on the dev questions of tests/corpus/kb_eval.json


class HybridSearcher:
    """Runs both retrievers over the chosen collections and fuses their rankings."""

    def __init__(
        self,
        store: KnowledgeRows,
        vectors: KBVectorSide,
        embedder: Embedder,
        *,
        vector_weight: float | None = None,
        reranker: Any = None,
    ) -> None:
        self.store = store
        self.reranker = reranker
        self.vectors = vectors
        self.embedder = embedder
        self.vector_weight = (
            vector_weight if vector_weight is not None else getattr(embedder, "fusion_weight", 1.0)
        )

    def search(
        self,
        query: str,
        collection_ids: Sequence[int],
        k: int = 5,
        *,
        use_vectors: bool = True,
        covers_all: bool = False,
    ) -> list[dict[str, Any]]:
        """Best-first hits: text, source, page, heading, collection, chunk_id, score (0–1].

        A hit carries "notice": "keyword_only" when the embedder failed for this query.
        """
        query = query[:MAX_QUERY_CHARS]
        ids = list(collection_ids)
        if not query.strip() or not ids or k <= 0:
            return []
        lists, weights, vectors_ok = self._rankings(query, ids, k, use_vectors, covers_all)
        fused = reciprocal_rank_fusion(lists, weights)
        want = max(k, RERANK_DEPTH) if self.reranker is not None else k
        best = sorted(fused.items(), key=lambda item: -item[1])[:want]
        rows = self.store.chunks_by_ids([chunk_id for chunk_id, _ in best], ids)
        ceiling = sum(w / (RRF_K + 1) for w in weights)
        allowed = set(ids)
        hits = []
        for chunk_id, score in best:
            row = rows.get(chunk_id)
            # The last step: a chunk deleted since, or outside the caller's collections, is dropped
            # whatever the indexes said (the reranker below only reorders what is left).
            if row is not None and row.pop("collection_id") in allowed:
                hits.append({**row, "score": round(score / ceiling, 6)})
        hits, _reranked = rerank_hits(self.reranker, query, hits, k)
        return hits if vectors_ok else [{**h, "notice": "keyword_only"} for h in hits]

    def _rankings(
        self, query: str, ids: list[int], k: int, use_vectors: bool, covers_all: bool
    ) -> tuple[list[list[int]], list[float], bool]:
        """BM25, vectors (when they count) and query coverage over both; whether vectors ran."""
        depth = max(50, 4 * k)
        lists = [self.keyword(query, ids, depth, unfiltered_first=covers_all)]
        weights, vectors_ok = [1.0], True
        if use_vectors and self.vector_weight > 0:
            try:
                lists.append(self.semantic(query, ids, depth))
                weights.append(self.vector_weight)
            except Exception as exc:  # a provider outage (429, timeout): keyword results, a notice
                log.warning(
                    "knowledge search: embedder failed (%s), keyword only", type(exc).__name__
                )
                vectors_ok = False
        # How much of the query each candidate contains (words, character pairs, characters):
        # it rescues paraphrases that BM25's OR of words ranks low (docs/retrieval.md).
        pool = [i for ranked in lists for i in ranked]
        lists.append(coverage_ranking(self.store, query, pool))
        weights.append(COVERAGE_WEIGHT)
        return lists, weights, vectors_ok

    def keyword(
        self, query: str, collection_ids: list[int], limit: int, *, unfiltered_first: bool = False
    ) -> list[int]:
        """Chunk ids of these collections ranked by BM25.

        `unfiltered_first` (the caller believes its collections hold every chunk) tries the
        cheaper query without the collection filter; a single foreign hit sends it to the filter.
        """
        terms = query_terms(query, self.store.doc_freq)
        allowed = set(collection_ids)
        ranked = None
        if unfiltered_first:
            ranked = self.store.ranked(terms, None, limit)
        if ranked is None or any(coll not in allowed for _, coll in ranked):
            ranked = self.store.ranked(terms, list(collection_ids), limit)
        return [chunk_id for chunk_id, coll in ranked if coll in allowed]

    def semantic(self, query: str, collection_ids: list[int], limit: int) -> list[int]:
        """Chunk ids of these collections ranked by cosine similarity to the query embedding."""
        vector = self.embedder.embed([query])[0]
        pairs = self.vectors.search(vector, collection_ids, limit)
        return [chunk_id for chunk_id, score in pairs if score >= MIN_COSINE]


def reciprocal_rank_fusion(
    rankings: list[list[int]], weights: list[float] | None = None, k: int = RRF_K
) -> dict[int, float]:
    """Sum of weight / (k + rank) over the rankings each item appears in (rank starts at 1)."""
    scores: dict[int, float] = {}
    for n, ranking in enumerate(rankings):
        weight = weights[n] if weights else 1.0
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores
