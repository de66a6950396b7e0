"""Rerank the fused top hits with DashScope's text-rerank API (gte-rerank-v2, qwen3-rerank)."""

from __future__ import annotations

import logging
from typing import Any

from agent_app.settings import Settings

log = logging.getLogger(__name__)
RERANK_PATH = "/services/rerank/text-rerank/text-rerank"
RERANK_DEPTH = 20  # fused hits sent to the reranker: enough to lift a low hit, cheap per query
MAX_DOC_CHARS = 2_000  # the API truncates long documents anyway (≈ 4,000 tokens per item)


class RerankUnavailable(Exception):
    """The rerank call failed (rate limit, timeout, bad answer): keep the fused order."""


class DashScopeReranker:
    """POST {base}/services/rerank/text-rerank/text-rerank; scores come back per input index."""

    def __init__(self, api_key: str, model: str, base_url: str, timeout: float = 8.0) -> None:
        self.model, self.name = model, f"dashscope-{model}"
        self._url = base_url.rstrip("/") + RERANK_PATH
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._timeout = timeout

    def scores(self, query: str, documents: list[str]) -> list[float]:
        """Relevance in [0, 1] of each document, in input order."""
        body = {
            "model": self.model,
            "input": {"query": query, "documents": [d[:MAX_DOC_CHARS] for d in documents]},
            "parameters": {"return_documents": False, "top_n": len(documents)},
        }
        import httpx  # here: `kb list` and searches without a reranker never load it

        try:
            reply = httpx.post(self._url, json=body, headers=self._headers, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise RerankUnavailable(type(exc).__name__) from exc
        if reply.status_code != 200:
            raise RerankUnavailable(f"HTTP {reply.status_code}")
        try:
            results = reply.json()["output"]["results"]
            found = {int(r["index"]): float(r["relevance_score"]) for r in results}
        except (ValueError, KeyError, TypeError) as exc:
            raise RerankUnavailable("malformed answer") from exc
        return [found.get(i, 0.0) for i in range(len(documents))]


def make_reranker(settings: Settings) -> DashScopeReranker | None:
    """The configured reranker, or None (no rerank model chosen, or no DashScope key)."""
    if not settings.rerank_model or settings.dashscope_api_key is None:
        return None
    from agent_app.knowledge.embedders import native_base

    base = native_base(settings)
    key = settings.dashscope_api_key.get_secret_value()
    return DashScopeReranker(key, settings.rerank_model, base)


def rerank_hits(
    reranker: Any, query: str, hits: list[dict[str, Any]], k: int
) -> tuple[list[dict[str, Any]], bool]:
    """The top `k` hits in the reranker's order (score = its relevance); the fused order on failure."""
    if reranker is None or not hits:
        return hits[:k], True
    head, tail = hits[:RERANK_DEPTH], hits[RERANK_DEPTH:]
    try:
        scores = reranker.scores(query, [str(h.get("text", "")) for h in head])
    except RerankUnavailable as exc:
        log.warning("rerank unavailable (%s): keeping the fused order", exc)
        return hits[:k], False
    ranked = sorted(zip(scores, range(len(head)), head, strict=True), key=lambda p: (-p[0], p[1]))
    return ([{**h, "score": round(s, 6)} for s, _, h in ranked] + tail)[:k], True
