"""The typed event stream: the one contract between the core and its front ends."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Started:
    """The conversation a run belongs to: the first event of every `chat --json` run."""

    thread_id: str
    created: bool = False
    """True when this run created the conversation."""
    type: Literal["started"] = "started"


@dataclass(frozen=True)
class Token:
    """A piece of answer text, as the model streams it."""

    text: str
    type: Literal["token"] = "token"


@dataclass(frozen=True)
class Reasoning:
    """Thinking text (Qwen3 reasoning_content or a <think> block)."""

    text: str
    type: Literal["reasoning"] = "reasoning"


@dataclass(frozen=True)
class ToolStart:
    """A tool is about to run."""

    call_id: str
    name: str
    args: dict[str, Any]
    type: Literal["tool_start"] = "tool_start"


@dataclass(frozen=True)
class ToolEnd:
    """A tool finished; `error` is set when it failed."""

    call_id: str
    output: str
    error: str | None = None
    duration_ms: float = 0.0
    type: Literal["tool_end"] = "tool_end"


@dataclass(frozen=True)
class ApprovalRequired:
    """A tool call waits for the user's consent; resume with ChatService.resume."""

    call_id: str
    name: str
    args: dict[str, Any]
    reason: str = ""
    """Why it asks beyond the tool's own flag: the untrusted text this call follows (localized)."""
    type: Literal["approval_required"] = "approval_required"


@dataclass(frozen=True)
class MemoryUsed:
    """Long-term memories recalled into this turn: a list of {id, text}."""

    items: list[dict[str, Any]]
    type: Literal["memory_used"] = "memory_used"


@dataclass(frozen=True)
class Citation:
    """A knowledge-base chunk or a web search result the answer drew on."""

    source: str
    """The document's name, or the web page's title."""
    page: int | None
    chunk_id: str
    """The knowledge-base chunk ('' for a web result)."""
    score: float
    text: str = ""
    url: str = ""
    """The web result's address ('' for a knowledge-base chunk)."""
    type: Literal["citation"] = "citation"


@dataclass(frozen=True)
class Usage:
    """Token counts and latency of one model call."""

    input_tokens: int
    output_tokens: int
    latency_ms: float
    model: str
    type: Literal["usage"] = "usage"


@dataclass(frozen=True)
class Notice:
    """An informational message for the user (e.g. 'this model runs without tools')."""

    kind: str
    message: str
    type: Literal["notice"] = "notice"


@dataclass(frozen=True)
class Plan:
    """The visible plan of a multi-step task: items {content, status}, updated as steps complete."""

    todos: list[dict[str, Any]]
    type: Literal["plan"] = "plan"


@dataclass(frozen=True)
class Error:
    """A clear, user-facing failure: no traceback, path or secret."""

    kind: str
    message: str
    partial: bool = False
    type: Literal["error"] = "error"


@dataclass(frozen=True)
class Done:
    """The turn is over and durably stored."""

    message_id: str
    thread_id: str = ""
    type: Literal["done"] = "done"


Event = (
    Started
    | Token
    | Reasoning
    | ToolStart
    | ToolEnd
    | ApprovalRequired
    | MemoryUsed
    | Citation
    | Usage
    | Notice
    | Plan
    | Error
    | Done
)


def to_dict(event: Event) -> dict[str, Any]:
    """Return the JSON-ready form of an event, `type` first."""
    data = asdict(event)
    return {"type": data.pop("type"), **data}


def to_json(event: Event) -> str:
    """One line of JSON (non-ASCII kept as is)."""
    return json.dumps(to_dict(event), ensure_ascii=False, default=str)


@dataclass
class TurnResult:
    """Everything a consumer collected from one turn (handy for tests and one-shot use)."""

    events: list[Event] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The answer text: every token event joined."""
        return "".join(e.text for e in self.events if isinstance(e, Token))

    @property
    def errors(self) -> list[Error]:
        """The error events of the turn."""
        return [e for e in self.events if isinstance(e, Error)]
