"""Protocol-neutral scripted answers (turns, faults, hangs) that the fakes render."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._http import Reply


@dataclass(frozen=True)
class ToolCallSpec:
    """One tool call as the model emits it: `arguments` is the raw JSON text."""

    name: str
    arguments: str
    id: str


@dataclass
class Turn:
    """One assistant answer; each fake renders it in its own wire format.

    `cut` drops the connection after the content, `split_utf8` splits the body
    inside multi-byte characters, `error_after` ends the stream with an in-band
    error event (kind "inspection" for DashScope output moderation), `malformed`
    adds keep-alives, empty/usage-only chunks and a double `[DONE]` (DashScope).
    """

    content: str = ""
    reasoning: str | None = None
    tool_calls: list[ToolCallSpec] = field(default_factory=list)
    chunk: int = 4
    usage: bool | str = True
    split_args: bool = True
    repeat_name: bool = False
    cut: bool = False
    split_utf8: bool = False
    error_after: str | None = None
    malformed: bool = False
    bad_json: bool = False
    pause: float = 0.0
    search_results: list[dict[str, Any]] | None = None
    """Web pages DashScope's built-in search found ({title, url, site_name}); the native API returns them."""

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"


@dataclass
class Fault:
    """An HTTP error answer; `kind` is looked up in each fake's fault table."""

    kind: str
    retry_after: float | None = None
    retry_after_ms: int | None = None
    code: str | None = None
    message: str | None = None
    echo_auth: bool = False
    """Append the request's Authorization header to the message, as a careless gateway does."""

    def extra_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            value = self.retry_after
            headers["Retry-After"] = str(int(value)) if float(value).is_integer() else str(value)
        if self.retry_after_ms is not None:
            headers["retry-after-ms"] = str(self.retry_after_ms)
        return headers


def new_call_id() -> str:
    """A fresh tool-call id in DashScope's `call_<hex>` style."""
    return f"call_{uuid.uuid4().hex[:24]}"


def text(
    answer: str,
    *,
    chunk: int = 4,
    reasoning: str | None = None,
    usage: bool | str = True,
    pause: float = 0.0,
) -> Turn:
    """Reasoning deltas first (if given), then `answer` in `chunk`-character pieces.

    `usage=True` sends the usage-only last chunk when the request asked for it
    (`stream_options.include_usage`), `usage="always"` sends it regardless.
    """
    return Turn(content=answer, reasoning=reasoning, chunk=max(1, chunk), usage=usage, pause=pause)


def searched(answer: str, results: list[dict[str, Any]], *, chunk: int = 4) -> Turn:
    """An answer written from DashScope's built-in web search, which found `results`.

    Each result is `{title, url, site_name?, icon?}`; the native generation API numbers them
    (`index` from 1) and returns them in `output.search_info.search_results` when the request
    asked for sources.
    """
    return Turn(content=answer, chunk=max(1, chunk), search_results=list(results))


def _as_spec(call: Any) -> ToolCallSpec:
    if isinstance(call, ToolCallSpec):
        return call
    name, args = call[0], call[1]
    call_id = call[2] if len(call) > 2 else new_call_id()
    raw = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    return ToolCallSpec(name=name, arguments=raw, id=call_id)


def tool_calls(
    calls: Iterable[tuple[str, Mapping[str, Any] | str] | tuple[str, Any, str] | ToolCallSpec],
    *,
    split: bool = True,
    content: str = "",
    reasoning: str | None = None,
    repeat_name: bool = False,
    usage: bool | str = True,
) -> Turn:
    """Tool calls (parallel when several) with finish_reason "tool_calls".

    Each call is `(name, args)` or `(name, args, id)`; a `str` args is sent verbatim,
    so tests can send invalid JSON such as '{"url": "http://ex'. `repeat_name=True`
    repeats the function name in every argument delta (the recorded DashScope quirk
    that makes naive mergers produce "get_weatherget_weather").
    """
    specs = [_as_spec(c) for c in calls]
    return Turn(
        content=content,
        reasoning=reasoning,
        tool_calls=specs,
        split_args=split,
        repeat_name=repeat_name,
        usage=usage,
    )


def fault(
    kind: str,
    *,
    retry_after: float | None = None,
    retry_after_ms: int | None = None,
    code: str | None = None,
    message: str | None = None,
    echo_auth: bool = False,
) -> Fault:
    """An error answer such as "auth", "rate_limit", "quota", "html500", "503"."""
    return Fault(kind, retry_after, retry_after_ms, code, message, echo_auth)


def inspection_midstream(partial_text: str, *, chunk: int = 4) -> Turn:
    """Stream `partial_text`, then an in-band output-moderation error event.

    DashScope sends `data: {"error": {"code": "data_inspection_failed", ...}}` and ends
    the stream (no finish chunk, no [DONE]); the openai client turns that into a plain
    `openai.APIError` whose message starts "Output data may contain inappropriate
    content", which is what users of DashScope report. Ollama renders it as an
    `{"error": ...}` NDJSON line. Without streaming, DashScope answers 400 instead.
    """
    return Turn(content=partial_text, chunk=max(1, chunk), error_after="inspection", usage=False)


def cut_stream(partial_text: str, *, chunk: int = 4) -> Turn:
    """Stream `partial_text`, then drop the connection mid chunked transfer."""
    return Turn(content=partial_text, chunk=max(1, chunk), cut=True, usage=False)


def split_utf8(answer: str = "你好😀") -> Turn:
    """Deliver `answer` with every multi-byte character split across HTTP chunks."""
    return Turn(content=answer, chunk=max(1, len(answer)), split_utf8=True, pause=0.02)


def malformed_sse(answer: str, *, bad_json: bool = True, chunk: int = 4) -> Turn:
    """`answer` wrapped in SSE oddities: `: ping`, an empty-choices chunk, a
    usage-only chunk, `[DONE]` twice and (when `bad_json`) a non-JSON data line."""
    return Turn(content=answer, chunk=max(1, chunk), malformed=True, bad_json=bad_json)


def hang(seconds: float) -> Reply:
    """Accept the request and send nothing for `seconds` (for read timeouts)."""
    return Reply(hang=seconds)


def last_user_text(request_json: Mapping[str, Any]) -> str:
    """The text of the last user message in an OpenAI- or Ollama-style body."""
    for msg in reversed(request_json.get("messages") or []):
        if msg.get("role") == "user":
            return content_text(msg.get("content"))
    return ""


def content_text(content: Any) -> str:
    """Flatten string or list-of-parts message content to plain text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def echo(request_json: Mapping[str, Any]) -> Turn:
    """The default responder: "echo: <last user text>" streamed in small chunks."""
    return text(f"echo: {last_user_text(request_json)}", chunk=3)


def approx_tokens(value: Any) -> int:
    """A deterministic stand-in for a tokenizer (about 4 UTF-8 bytes per token)."""
    if value is None:
        return 0
    data = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    size = len(data.encode("utf-8"))
    return 0 if size == 0 else max(1, (size + 3) // 4)


def pieces(value: str, size: int) -> list[str]:
    """`value` cut into pieces of `size` characters (no piece for an empty string)."""
    size = max(1, size)
    return [value[i : i + size] for i in range(0, len(value), size)]


def split_inside_codepoints(data: bytes) -> list[bytes]:
    """Cut `data` one byte into every multi-byte UTF-8 character."""
    cuts: list[int] = []
    pos = 0
    for ch in data.decode("utf-8"):
        width = len(ch.encode("utf-8"))
        if width > 1:
            cuts.append(pos + 1)
        pos += width
    out, start = [], 0
    for cut in cuts:
        out.append(data[start:cut])
        start = cut
    out.append(data[start:])
    return [p for p in out if p]
