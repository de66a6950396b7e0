"""DashScope's native text generation (`/api/v1/services/aigc/text-generation/generation`).

The one protocol that returns built-in web search sources: with `parameters.enable_search` and
`search_options.enable_source`, `output.search_info.search_results` lists
`{index, title, url, site_name, icon}` (the compatible mode searches too but never returns them).
Streamed (`X-DashScope-SSE: enable`) the first event carries the sources and later events an empty
list, as Model Studio documents; otherwise one JSON object.
"""

from __future__ import annotations

import json
from typing import Any

from ._http import RecordedRequest, Reply, json_reply, stream_reply
from .dashscope_errors import native_error, request_id
from .script import Turn, approx_tokens, pieces

PATH = "/api/v1/services/aigc/text-generation/generation"


def _sources(turn: Turn, params: dict[str, Any]) -> dict[str, Any] | None:
    """search_info as the request asked for it (None when search or sources are off)."""
    options = params.get("search_options") or {}
    if not params.get("enable_search") or not options.get("enable_source"):
        return None
    results = [
        {"site_name": "", "icon": "", **hit, "index": n}
        for n, hit in enumerate(turn.search_results or [], start=1)
    ]
    return {"search_results": results}


def _output(content: str, finish: str, info: dict[str, Any] | None) -> dict[str, Any]:
    message = {"content": content, "role": "assistant"}
    output: dict[str, Any] = {"choices": [{"message": message, "finish_reason": finish}]}
    if info is not None:
        output["search_info"] = info
    return output


def _usage(body: dict[str, Any], turn: Turn, searched: bool) -> dict[str, Any]:
    prompt, completion = approx_tokens(body.get("input")), approx_tokens(turn.content)
    usage: dict[str, Any] = {
        "input_tokens": prompt,
        "output_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if searched:
        usage["plugins"] = {"search": {"count": 1}}
    return usage


def _event(n: int, data: dict[str, Any]) -> bytes:
    blob = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id:{n}\nevent:result\n:HTTP_STATUS/200\ndata:{blob}\n\n".encode()


def generation(req: RecordedRequest, turn: Turn) -> Reply:
    """The answer to one native generation request, scripted by `turn`."""
    body: dict[str, Any] = req.body if isinstance(req.body, dict) else {}
    messages = (body.get("input") or {}).get("messages")
    if not body.get("model") or not isinstance(messages, list) or not messages:
        return json_reply(
            400, native_error("InvalidParameter", "Required parameter(s) missing or invalid")
        )
    params = body.get("parameters") or {}
    info = _sources(turn, params)
    usage = _usage(body, turn, bool(params.get("enable_search")))
    rid = request_id()
    if req.headers.get("x-dashscope-sse", "").lower() != "enable":
        out = _output(turn.content, "stop", info)
        return json_reply(200, {"output": out, "usage": usage, "request_id": rid})
    empty = None if info is None else {"extra_tool_info": [], "search_results": []}
    events = []
    for n, piece in enumerate([*pieces(turn.content, turn.chunk), ""], start=1):
        finish = "stop" if piece == "" else "null"
        sources = info if n == 1 else empty
        data = {"output": _output(piece, finish, sources), "usage": usage, "request_id": rid}
        events.append(_event(n, data))
    return stream_reply(events, "text/event-stream;charset=UTF-8", pause=turn.pause)
