"""ServerEvents: a LangGraph Server run's stream parts, translated into our typed events."""

from __future__ import annotations

from typing import Any

from langgraph.types import Interrupt

from agent_app import events as ev
from agent_app.agent.thread_state import approvals
from agent_app.agent.turn import custom_event
from agent_app.errors import AppError, BackendFailedError
from agent_app.i18n import t
from agent_app.providers.thinking import ThinkSplitter


def content_text(content: Any) -> str:
    """A message's text from its JSON content: a string, or a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(b.get("text", "")) if isinstance(b, dict) and b.get("type") == "text" else ""
            for b in content
        )
    return ""


def _error_classes(base: type[AppError]) -> list[type[AppError]]:
    out = []
    for cls in base.__subclasses__():
        out += [cls, *_error_classes(cls)]
    return out


def server_error(data: Any) -> AppError:
    """The AppError a failed server run names (its exception's class), else BackendFailedError."""
    name = str(data.get("error", "")) if isinstance(data, dict) else ""
    for cls in _error_classes(AppError):
        if cls.__name__ == name:
            return cls(name)
    return BackendFailedError(name)


def interrupts_of(raw: Any) -> list[Interrupt]:
    """The server's JSON interrupts as LangGraph's Interrupt objects."""
    items = raw if isinstance(raw, list) else []
    return [
        Interrupt(value=i.get("value"), id=str(i.get("id") or ""))
        for i in items
        if isinstance(i, dict)
    ]


class ServerEvents:
    """Feeds on (event, data) stream parts; knows afterwards how the turn ended."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.splitter = ThinkSplitter()
        self.last_ai: dict[str, Any] | None = None
        self.paused = False
        self.error: AppError | None = None
        self.streamed = False

    def feed(self, event: str, data: Any) -> list[ev.Event]:
        """Our events for one stream part (none for parts we do not show)."""
        kind = event.split("|", 1)[0]
        if kind == "messages" and isinstance(data, list) and len(data) == 2:
            return self._on_message(data[0], data[1])
        if kind == "custom" and isinstance(data, dict):
            return custom_event(data, self.lang)
        if kind == "updates" and isinstance(data, dict):
            return self._on_update(data)
        if kind == "error":
            self.error = server_error(data)
        return []

    def _on_message(self, chunk: Any, meta: Any) -> list[ev.Event]:
        if not isinstance(chunk, dict) or not isinstance(meta, dict):
            return []
        if chunk.get("type") != "AIMessageChunk" or meta.get("langgraph_node") != "model":
            return []
        out: list[ev.Event] = []
        reasoning = (chunk.get("additional_kwargs") or {}).get("reasoning_content")
        if reasoning:
            out.append(ev.Reasoning(str(reasoning)))
        for kind, piece in self.splitter.feed(content_text(chunk.get("content"))):
            out.append(self._piece(kind, piece))
        return out

    def _piece(self, kind: str, piece: str) -> ev.Event:
        if kind == "reasoning":
            return ev.Reasoning(piece)
        self.streamed = True
        return ev.Token(piece)

    def _on_update(self, data: dict[str, Any]) -> list[ev.Event]:
        if "__interrupt__" in data:
            self.paused = True  # a tool call waits for the user's decision
            return list(approvals(interrupts_of(data["__interrupt__"])))
        out: list[ev.Event] = []
        for update in data.values():
            if not isinstance(update, dict):
                continue
            if isinstance(update.get("todos"), list):
                out.append(ev.Plan([dict(item) for item in update["todos"]]))
            for msg in update.get("messages") or []:
                if isinstance(msg, dict) and msg.get("type") == "ai":
                    self.last_ai = msg
        return out

    def flush(self) -> list[ev.Event]:
        """Text the think-splitter still holds at the end of the stream."""
        return [self._piece(kind, piece) for kind, piece in self.splitter.flush()]

    def outcome(self, thread_id: str) -> ev.Event | None:
        """The turn's last event: done, or the error that ended it (None while paused)."""
        if self.error is not None:
            return ev.Error(self.error.kind, self.error.user_message(self.lang), self.streamed)
        if self.paused:
            return None
        last = self.last_ai
        if last is None or not (content_text(last.get("content")) or last.get("tool_calls")):
            return ev.Error("empty_answer", t("error.empty_answer", self.lang))
        return ev.Done(message_id=str(last.get("id") or ""), thread_id=thread_id)
