"""DashScope text-rerank endpoint (native `/api/v1`): gte-rerank-v2 / qwen3-rerank wire format."""

from __future__ import annotations

from typing import Any

from ._http import RecordedRequest, Reply, json_reply
from .dashscope_errors import native_error, request_id
from .script import approx_tokens
from .vectors import embed_text

PATH = "/api/v1/services/rerank/text-rerank/text-rerank"
MAX_DOCUMENTS = 500  # gte-rerank-v2 and qwen3-rerank accept at most 500 documents per request


def relevance(query: str, document: str) -> float:
    """The fake's relevance in [0, 1]: cosine of hashed character n-grams, rescaled."""
    a, b = embed_text(query, 128), embed_text(document, 128)
    return round((1.0 + sum(x * y for x, y in zip(a, b, strict=True))) / 2.0, 6)


def rerank(req: RecordedRequest) -> Reply:
    """input.query + input.documents -> output.results[{index, relevance_score}], best first."""
    body: dict[str, Any] = req.body if isinstance(req.body, dict) else {}
    data = body.get("input") or {}
    query, docs = data.get("query"), data.get("documents")
    if (
        not body.get("model")
        or not isinstance(query, str)
        or not isinstance(docs, list)
        or not docs
    ):
        return json_reply(
            400, native_error("InvalidParameter", "Required parameter(s) missing or invalid")
        )
    if len(docs) > MAX_DOCUMENTS:
        return json_reply(400, native_error("InvalidParameter", "too many documents"))
    params = body.get("parameters") or {}
    scored = sorted(
        ((relevance(query, str(d)), i) for i, d in enumerate(docs)), key=lambda p: (-p[0], p[1])
    )
    top = scored[: int(params.get("top_n") or len(docs))]
    results = [{"index": i, "relevance_score": s} for s, i in top]
    if params.get("return_documents"):
        for r in results:
            r["document"] = {"text": docs[int(r["index"])]}
    tokens = approx_tokens(query) * len(docs) + sum(approx_tokens(str(d)) for d in docs)
    return json_reply(
        200,
        {
            "output": {"results": results},
            "usage": {"total_tokens": tokens},
            "request_id": request_id(),
        },
    )
