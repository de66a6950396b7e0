"""DashScope OpenAI-compatible chat completions (SSE chunks and JSON) rendered from turns."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from ._http import Reply, json_reply, stream_reply
from .dashscope_errors import OUTPUT_INSPECTION_MESSAGE, compat_error
from .script import Turn, approx_tokens, pieces, split_inside_codepoints


def sse(obj: Any) -> bytes:
    """One SSE event: `data: <compact JSON>` and a blank line."""
    data = (
        obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    )
    return f"data: {data}\n\n".encode()


class _Chunker:
    """Builds chat.completion.chunk objects sharing one id/created/model."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4()}"
        self.created = int(time.time())
        self.model = model

    def chunk(self, delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
        choices = (
            []
            if delta is None
            else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
        )
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": choices,
            "usage": None,
        }


def _usage(req_body: dict[str, Any], turn: Turn) -> dict[str, Any]:
    prompt = approx_tokens(req_body.get("messages")) + approx_tokens(req_body.get("tools"))
    reasoning = approx_tokens(turn.reasoning)
    completion = (
        reasoning
        + approx_tokens(turn.content)
        + sum(approx_tokens(c.name) + approx_tokens(c.arguments) for c in turn.tool_calls)
    )
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    if turn.reasoning:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return usage


def _text_deltas(turn: Turn) -> list[dict[str, Any]]:
    deltas: list[dict[str, Any]] = []
    for piece in pieces(turn.reasoning or "", turn.chunk):
        deltas.append({"content": None, "reasoning_content": piece})
    for piece in pieces(turn.content, turn.chunk):
        delta: dict[str, Any] = {"content": piece}
        if turn.reasoning:
            delta["reasoning_content"] = None
        deltas.append(delta)
    if not deltas:
        deltas.append({"content": ""})
    deltas[0] = {"role": "assistant", **deltas[0]}
    return deltas


def _tool_deltas(turn: Turn) -> list[dict[str, Any]]:
    deltas = []
    for index, call in enumerate(turn.tool_calls):
        head = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        deltas.append({"content": None, "tool_calls": [head]})
        size = max(1, -(-len(call.arguments) // 3)) if turn.split_args else len(call.arguments)
        for piece in pieces(call.arguments, size):
            function: dict[str, Any] = {"arguments": piece}
            if turn.repeat_name:
                function["name"] = call.name
            tail = {"index": index, "id": "", "type": "function", "function": function}
            deltas.append({"content": None, "tool_calls": [tail]})
    return deltas


def _wants_usage(req_body: dict[str, Any], turn: Turn) -> bool:
    if turn.usage == "always":
        return True
    opts = req_body.get("stream_options") or {}
    return bool(turn.usage) and bool(opts.get("include_usage"))


def _malformed(events: list[bytes], ch: _Chunker, turn: Turn) -> list[bytes]:
    """Wrap normal events in keep-alives, empty/usage-only chunks and a double [DONE]."""
    usage_only = ch.chunk(None)
    usage_only["usage"] = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    extra = [b": ping\n\n", sse(ch.chunk(None))]
    if turn.bad_json:
        extra.append(b"data: this is not json\n\n")
    return [
        b": ping\n\n",
        *events[:1],
        *extra,
        *events[1:-1],
        sse(usage_only),
        events[-1],
        sse("[DONE]"),
    ]


def sse_events(turn: Turn, req_body: dict[str, Any], model: str) -> list[bytes]:
    """Every SSE event of a streamed answer, `[DONE]` included."""
    ch = _Chunker(model)
    events = [sse(ch.chunk(d)) for d in _text_deltas(turn)]
    events += [sse(ch.chunk(d)) for d in _tool_deltas(turn)]
    if turn.cut:
        return events
    if turn.error_after:
        err = compat_error(
            "data_inspection_failed", "data_inspection_failed", OUTPUT_INSPECTION_MESSAGE
        )
        return [*events, sse(err)]
    events.append(sse(ch.chunk({"content": ""}, finish=turn.finish_reason)))
    if _wants_usage(req_body, turn):
        last = ch.chunk(None)
        last["usage"] = _usage(req_body, turn)
        events.append(sse(last))
    events.append(sse("[DONE]"))
    return _malformed(events, ch, turn) if turn.malformed else events


def completion(turn: Turn, req_body: dict[str, Any], model: str) -> dict[str, Any]:
    """A non-streamed chat.completion object."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.content}
    if turn.reasoning:
        message["reasoning_content"] = turn.reasoning
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "index": i,
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            }
            for i, c in enumerate(turn.tool_calls)
        ]
    return {
        "id": f"chatcmpl-{uuid.uuid4()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {"index": 0, "message": message, "finish_reason": turn.finish_reason, "logprobs": None}
        ],
        "usage": _usage(req_body, turn),
    }


def render_turn(turn: Turn, req_body: dict[str, Any]) -> Reply:
    """The whole HTTP answer for `turn`, streamed when the request asked for it."""
    model = str(req_body.get("model") or "qwen-plus")
    if not req_body.get("stream"):
        if turn.error_after:  # without streaming, output moderation fails the whole call
            err = compat_error(
                "data_inspection_failed", "data_inspection_failed", OUTPUT_INSPECTION_MESSAGE
            )
            return json_reply(400, err)
        if turn.cut or turn.split_utf8:
            body = json.dumps(completion(turn, req_body, model), ensure_ascii=False).encode()
            parts = split_inside_codepoints(body) if turn.split_utf8 else [body[: len(body) // 2]]
            return stream_reply(parts, "application/json", cut=turn.cut, pause=turn.pause)
        return json_reply(200, completion(turn, req_body, model))
    events = sse_events(turn, req_body, model)
    if turn.split_utf8:
        events = [part for ev in events for part in split_inside_codepoints(ev)]
    return stream_reply(events, "text/event-stream;charset=UTF-8", cut=turn.cut, pause=turn.pause)
