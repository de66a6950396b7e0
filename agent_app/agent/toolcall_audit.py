"""Strict tool-call arguments: the raw streamed JSON is checked, not the client's "repaired" guess.

LangChain's chunk merging runs a partial-JSON parser that turns a truncated
'{"url": "http://ex' into a complete call, so a cut or malformed call would run
We capture the raw argument text while it streams and move any
call whose text is not one strict JSON object into `invalid_tool_calls`.
"""

from __future__ import annotations

import json
import threading
from contextvars import ContextVar
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage

_capture: ContextVar[RawToolArgs | None] = ContextVar("agent_app_raw_tool_args", default=None)
_registered = False
_lock = threading.Lock()


class RawToolArgs(BaseCallbackHandler):
    """Collects streamed tool-call chunks by index: id, name and the raw argument text."""

    def __init__(self) -> None:
        self.calls: dict[int, dict[str, Any]] = {}
        self.streamed = False
        self.text_seen = False
        """Answer text reached the stream: a retry would show it twice."""

    def reset_calls(self) -> None:
        """Forget the calls of the previous model attempt."""
        self.calls, self.streamed = {}, False

    def on_llm_new_token(self, token: Any, *, chunk: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Record the raw tool-call argument text as it streams."""
        if token:
            self.text_seen = True
        message = getattr(chunk, "message", None)
        for part in getattr(message, "tool_call_chunks", None) or []:
            self.streamed = True
            entry = self.calls.setdefault(
                part.get("index") or 0, {"id": None, "name": "", "args": ""}
            )
            if part.get("id"):
                entry["id"] = part["id"]
            if part.get("name"):
                entry["name"] = part["name"] if not entry["name"] else entry["name"]
            if isinstance(part.get("args"), str):
                entry["args"] += part["args"]


def start_capture() -> tuple[RawToolArgs, Any]:
    """Begin capturing for the model call about to run in this context."""
    global _registered
    with _lock:
        if not _registered:
            from langchain_core.tracers.context import register_configure_hook

            register_configure_hook(_capture, inheritable=True)
            _registered = True
    handler = RawToolArgs()
    return handler, _capture.set(handler)


def stop_capture(token: Any) -> None:
    """Stop recording raw tool-call arguments for this context."""
    _capture.reset(token)


def current_capture() -> RawToolArgs | None:
    """The capture of the model call running in this context, if an outer middleware began one."""
    return _capture.get()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate keys")
    return dict(pairs)


def strict_object(raw: str) -> dict[str, Any] | None:
    """The arguments when `raw` is exactly one JSON object without duplicate keys, else None."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw, object_pairs_hook=_no_duplicates)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def repeated_name(name: str, known: set[str]) -> str:
    """'get_weatherget_weather' → 'get_weather': DashScope repeats names in parallel deltas."""
    if name in known or not name:
        return name
    for tool in known:
        if len(name) % len(tool) == 0 and name == tool * (len(name) // len(tool)):
            return tool
    return name


def enforce(message: AIMessage, capture: RawToolArgs, known: set[str] | None = None) -> AIMessage:
    """Move calls whose raw streamed arguments are not strict JSON objects to invalid_tool_calls."""
    if known and any(c.get("name") not in known for c in message.tool_calls):
        fixed = [
            {**c, "name": repeated_name(c.get("name") or "", known)} for c in message.tool_calls
        ]
        message = message.model_copy(update={"tool_calls": fixed})
    if not capture.streamed or not message.tool_calls:
        return message
    raw_by_id = {c["id"]: c for c in capture.calls.values() if c.get("id")}
    ordered = [capture.calls[i] for i in sorted(capture.calls)]
    valid, invalid = [], list(message.invalid_tool_calls)
    for pos, call in enumerate(message.tool_calls):
        raw = raw_by_id.get(call.get("id")) or (ordered[pos] if pos < len(ordered) else None)
        if raw is None or strict_object(raw["args"]) is not None:
            valid.append(call)
            continue
        invalid.append(
            {
                "name": call.get("name"),
                "args": raw["args"][:2000],
                "id": call.get("id"),
                "error": "arguments are not one valid JSON object",
                "type": "invalid_tool_call",
            }
        )
    if len(valid) == len(message.tool_calls):
        return message
    return message.model_copy(update={"tool_calls": valid, "invalid_tool_calls": invalid})
