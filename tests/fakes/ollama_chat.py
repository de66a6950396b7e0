"""Ollama `/api/chat` answers (NDJSON stream or one JSON object) and errors from scripts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ._http import Reply, json_reply, stream_reply
from .script import Fault, Turn, approx_tokens, pieces, split_inside_codepoints

_HTML = "<html><head><title>{0}</title></head><body><h1>{0}</h1></body></html>\n"

# kind -> (status, error text); "html500"/"502" send HTML pages instead of JSON.
FAULTS: dict[str, tuple[int, str]] = {
    "auth": (401, "unauthorized"),
    "not_found": (404, 'model "{model}" not found, try pulling it first'),
    "500": (500, "llama runner process has terminated: exit status 2"),
    "503": (503, "server busy, please try again.  maximum pending requests exceeded"),
    "rate_limit": (429, "too many requests"),
}
HTML_FAULTS = {"html500": (500, "500 Internal Server Error"), "502": (502, "502 Bad Gateway")}
KINDS = frozenset(FAULTS) | frozenset(HTML_FAULTS)
MIDSTREAM_ERROR = "an error was encountered while running the model: unexpected EOF"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def error_reply(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    return json_reply(status, {"error": message}, headers)


def render_fault(flt: Fault, model: str) -> Reply:
    headers = flt.extra_headers()
    if flt.kind in HTML_FAULTS:
        status, title = HTML_FAULTS[flt.kind]
        body = _HTML.format(title).encode()
        hdrs = {"Content-Type": "text/html; charset=utf-8", **headers}
        return Reply(status=status, headers=hdrs, parts=[body])
    if flt.kind not in FAULTS:
        raise ValueError(f"unknown Ollama fault kind {flt.kind!r}; known: {sorted(KINDS)}")
    status, message = FAULTS[flt.kind]
    return error_reply(status, flt.message or message.format(model=model), headers)


def _tool_calls(turn: Turn) -> list[dict[str, Any]] | str:
    """Ollama parses tool arguments itself: invalid JSON becomes a server error text."""
    out = []
    for index, call in enumerate(turn.tool_calls):
        try:
            args = json.loads(call.arguments)
        except ValueError:
            args = None
        if not isinstance(args, dict):
            return (
                f"error parsing tool call: raw='{call.arguments}', err=unexpected end of JSON input"
            )
        out.append(
            {"id": call.id, "function": {"index": index, "name": call.name, "arguments": args}}
        )
    return out


def _visible(turn: Turn, think: Any) -> tuple[str, str | None]:
    """(content, thinking) as Ollama returns them for the request's `think` value."""
    if not turn.reasoning or think is False:
        return turn.content, None
    if think is None:  # model default: thinking stays inline in <think> tags
        return f"<think>{turn.reasoning}</think>\n\n{turn.content}", None
    return turn.content, turn.reasoning


def _line(model: str, message: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model": model, "created_at": now(), "message": message, **extra}


def _final(model: str, body: dict[str, Any], turn: Turn, message: dict[str, Any]) -> dict[str, Any]:
    prompt = approx_tokens(body.get("messages")) + approx_tokens(body.get("tools"))
    evals = (
        approx_tokens(turn.content)
        + approx_tokens(turn.reasoning)
        + sum(approx_tokens(c.arguments) for c in turn.tool_calls)
    )
    return _line(
        model,
        message,
        done=True,
        done_reason="stop",
        total_duration=(prompt + evals) * 2_000_000 + 50_000_000,
        load_duration=50_000_000,
        prompt_eval_count=prompt,
        prompt_eval_duration=prompt * 1_000_000,
        eval_count=evals,
        eval_duration=evals * 1_000_000,
    )


def _stream_lines(turn: Turn, body: dict[str, Any], model: str) -> list[dict[str, Any]]:
    content, thinking = _visible(turn, body.get("think"))
    lines = [
        _line(model, {"role": "assistant", "content": "", "thinking": p}, done=False)
        for p in pieces(thinking or "", turn.chunk)
    ]
    lines += [
        _line(model, {"role": "assistant", "content": p}, done=False)
        for p in pieces(content, turn.chunk)
    ]
    calls = _tool_calls(turn)
    if isinstance(calls, str):
        return [*lines, {"error": calls}]
    if calls:
        lines.append(
            _line(model, {"role": "assistant", "content": "", "tool_calls": calls}, done=False)
        )
    if turn.error_after:
        return [*lines, {"error": MIDSTREAM_ERROR}]
    if not turn.cut:
        lines.append(_final(model, body, turn, {"role": "assistant", "content": ""}))
    return lines


def render_turn(turn: Turn, body: dict[str, Any]) -> Reply:
    """The HTTP answer to `/api/chat` for `turn` (streams unless `stream` is false)."""
    if turn.malformed:
        raise ValueError("malformed_sse() is a DashScope SSE script; Ollama speaks NDJSON")
    model = str(body.get("model") or "")
    if body.get("stream", True) is False:
        calls = _tool_calls(turn)
        if isinstance(calls, str):
            return error_reply(500, calls)
        content, thinking = _visible(turn, body.get("think"))
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if thinking:
            message["thinking"] = thinking
        if calls:
            message["tool_calls"] = calls
        return json_reply(200, _final(model, body, turn, message))
    parts = [
        (json.dumps(obj, ensure_ascii=False) + "\n").encode()
        for obj in _stream_lines(turn, body, model)
    ]
    if turn.split_utf8:
        parts = [p for part in parts for p in split_inside_codepoints(part)]
    return stream_reply(parts, "application/x-ndjson", cut=turn.cut, pause=turn.pause)
