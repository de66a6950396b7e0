"""DashScope text-embedding endpoints (native `/api/v1` and compatible `/embeddings`)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from ._http import RecordedRequest, Reply, json_reply
from .dashscope_errors import compat_error, native_error, request_id
from .script import approx_tokens
from .vectors import embed_text, to_base64

NATIVE_PATH = "/api/v1/services/embeddings/text-embedding/text-embedding"
COMPAT_PATH = "/compatible-mode/v1/embeddings"

# text-embedding-v3/v4 take at most 10 texts per request, v1/v2 take 25.
BATCH_LIMITS = {"text-embedding-v1": 25, "text-embedding-v2": 25}
DEFAULT_BATCH_LIMIT = 10


def batch_limit(model: str) -> int:
    return BATCH_LIMITS.get(model, DEFAULT_BATCH_LIMIT)


def _batch_message(limit: int) -> str:
    return (
        "<400> InternalError.Algo.InvalidParameter: Value error, batch size is invalid, "
        f"it should not be larger than {limit}.: input.contents"
    )


def _as_text(item: Any) -> str:
    return item if isinstance(item, str) else json.dumps(item)


def native(req: RecordedRequest, default_dim: int) -> Reply:
    """`TextEmbedding.call`: input.texts -> output.embeddings[{text_index, embedding}]."""
    body = req.body or {}
    model = str(body.get("model") or "")
    texts = (body.get("input") or {}).get("texts")
    if isinstance(texts, str):
        texts = [texts]
    if not texts:
        return json_reply(
            400,
            native_error(
                "InvalidParameter", "Required parameter(s) missing or invalid: input.texts"
            ),
        )
    limit = batch_limit(model)
    if len(texts) > limit:
        return json_reply(400, native_error("InvalidParameter", _batch_message(limit)))
    dim = int((body.get("parameters") or {}).get("dimension") or default_dim)
    return json_reply(
        200,
        {
            "output": {
                "embeddings": [
                    {"text_index": i, "embedding": embed_text(_as_text(t), dim)}
                    for i, t in enumerate(texts)
                ]
            },
            "usage": {"total_tokens": sum(approx_tokens(_as_text(t)) for t in texts)},
            "request_id": request_id(),
        },
    )


def _compat_inputs(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and isinstance(value[0], int):
        return [value]  # one pre-tokenized input
    return list(value or [])


def compatible(req: RecordedRequest, default_dim: int) -> Reply:
    """OpenAI-format `/embeddings`, honouring `dimensions` and `encoding_format`."""
    body = req.body or {}
    model = str(body.get("model") or "")
    inputs = _compat_inputs(body.get("input"))
    if not inputs:
        return json_reply(
            400, compat_error("InvalidParameter", "InvalidParameter", "input must not be empty")
        )
    limit = batch_limit(model)
    if len(inputs) > limit:
        return json_reply(
            400, compat_error("InvalidParameter", "InvalidParameter", _batch_message(limit))
        )
    dim = int(body.get("dimensions") or default_dim)
    b64 = body.get("encoding_format") == "base64"
    data = []
    for i, item in enumerate(inputs):
        vec = embed_text(_as_text(item), dim)
        data.append(
            {"object": "embedding", "index": i, "embedding": to_base64(vec) if b64 else vec}
        )
    tokens = sum(approx_tokens(_as_text(t)) for t in inputs)
    return json_reply(
        200,
        {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            "id": str(uuid.uuid4()),
        },
    )
