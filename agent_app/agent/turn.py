"""One turn: run the graph, translate its stream into typed events, notice a pause."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.runnables import RunnableConfig
from langgraph.errors import GraphRecursionError

from agent_app import events as ev
from agent_app.agent.context import AgentContext
from agent_app.agent.stop import StopSignal
from agent_app.agent.thread_state import approvals
from agent_app.errors import AppError, StepLimitError
from agent_app.i18n import t
from agent_app.providers.classify import classify
from agent_app.providers.thinking import ThinkSplitter

log = logging.getLogger(__name__)


def _chunk_text(chunk: AIMessageChunk) -> str:
    text = chunk.text
    return text if isinstance(text, str) else str(text())


def custom_event(data: dict[str, Any], lang: str) -> list[ev.Event]:
    """Our events for one custom stream part (tool steps, usage, memories, notices)."""
    kind = data.get("type")
    if kind == "tool_start":
        return [ev.ToolStart(data["call_id"], data["name"], data.get("args") or {})]
    if kind == "tool_end":
        out: list[ev.Event] = [
            ev.ToolEnd(
                data["call_id"],
                data.get("output", ""),
                data.get("error"),
                data.get("duration_ms", 0.0),
            )
        ]
        return out + _citations(data.get("artifact"))
    if kind == "usage":
        return [
            ev.Usage(data["input_tokens"], data["output_tokens"], data["latency_ms"], data["model"])
        ]
    if kind == "memory_used":
        return [ev.MemoryUsed(data["items"])]
    if kind == "notice":
        key = f"notice.{data['kind']}"  # fallback, memory_keyword_only
        return [ev.Notice(data["kind"], t(key, lang, model=data.get("model", "")))]
    return []


def _citations(artifact: Any) -> list[ev.Event]:
    """Search hits travel as the search tools' artifact: a list of hit dicts."""
    if not isinstance(artifact, list):
        return []
    out: list[ev.Event] = []
    for hit in artifact:
        if isinstance(hit, dict) and "url" in hit and "chunk_id" not in hit:  # a web result
            url = str(hit["url"])
            text = str(hit.get("snippet", ""))[:500]
            out.append(ev.Citation(str(hit.get("title") or url), None, "", 0.0, text, url))
        elif isinstance(hit, dict) and "chunk_id" in hit:
            out.append(
                ev.Citation(
                    str(hit.get("source", "")),
                    hit.get("page"),
                    str(hit["chunk_id"]),
                    float(hit.get("score", 0.0)),
                    str(hit.get("text", ""))[:500],
                )
            )
    return out


class TurnStream:
    """Iterates graph events for one run; remembers whether text was streamed or the run paused."""

    def __init__(
        self,
        agent: Any,
        payload: Any,
        config: RunnableConfig,
        context: AgentContext,
        stop: threading.Event | None = None,
        durability: str = "exit",
    ) -> None:
        self.agent, self.payload, self.context = agent, payload, context
        self.stop = StopSignal(stop)
        callbacks = config.get("callbacks")
        inherited = list(callbacks) if isinstance(callbacks, list) else []
        self.config: RunnableConfig = {**config, "callbacks": [*inherited, self.stop]}
        self.durability = durability
        self.splitter = ThinkSplitter()
        self.answer_parts: list[str] = []
        self.paused = False
        self.error: AppError | None = None
        self.stopped = False
        self.last_ai: AIMessage | None = None
        self.held: list[str] | None = None
        self.call_text = False

    def __iter__(self) -> Iterator[ev.Event]:
        try:
            yield from self._run()
        except GraphRecursionError:
            self.error = StepLimitError("recursion limit")
        except AppError as err:
            self.error = err
            self.stopped = err.kind == "stopped"
        except Exception as exc:  # the provider's raw exception, if a middleware did not wrap it
            log.warning("turn failed: %s", type(exc).__name__)
            self.error = classify(exc, streamed=self.context.turn.streamed)

    def _run(self) -> Iterator[ev.Event]:
        stream = self.agent.stream(
            self.payload,
            self.config,
            context=self.context,
            version="v2",
            stream_mode=["messages", "custom", "updates", "values"],
            durability=self.durability,
        )
        for part in stream:
            if self.stop.is_set():
                self.stopped = True
                stream.close()
                return
            mode, data = part["type"], part["data"]
            if mode == "messages":
                yield from self._on_message(*data)
            elif mode == "custom" and isinstance(data, dict):
                yield from custom_event(data, self.context.lang)
            elif mode == "updates" and isinstance(data, dict):
                yield from self._on_update(data)
                if "model" in data:
                    yield from self._end_of_call()
            elif mode == "values" and part["interrupts"]:
                self.paused = True  # a tool call waits for the user's decision (HITL)
                yield from approvals(part["interrupts"])
        yield from self._flush()

    def _on_update(self, data: dict[str, Any]) -> list[ev.Event]:
        """Remember the newest AI message (no reload after the turn); report plan changes."""
        plans: list[ev.Event] = []
        for update in data.values():
            if isinstance(update, dict) and isinstance(update.get("todos"), list):
                plans.append(ev.Plan([dict(t) for t in update["todos"]]))
            messages = update.get("messages") if isinstance(update, dict) else None
            for msg in messages or []:
                if isinstance(msg, AIMessage):
                    self.last_ai = msg
        return plans

    def _on_message(self, chunk: Any, meta: dict[str, Any]) -> Iterator[ev.Event]:
        if not isinstance(chunk, AIMessageChunk) or meta.get("langgraph_node") != "model":
            return
        reasoning = chunk.additional_kwargs.get("reasoning_content")
        if reasoning:
            yield ev.Reasoning(str(reasoning))
        text = _chunk_text(chunk)
        if text:
            for kind, piece in self.splitter.feed(text):
                yield from self._piece(kind, piece)

    def _piece(self, kind: str, piece: str) -> Iterator[ev.Event]:
        if kind == "reasoning":
            yield ev.Reasoning(piece)
            return
        # Text that opens with "{" or "`" may be a JSON tool call (small-model mode): hold it
        # until this model call ends, then show it only if it did not become a call.
        if self.held is not None or (not self.call_text and piece.lstrip()[:1] in ("{", "`")):
            self.held = (self.held or []) + [piece]
            return
        self.call_text = True
        yield from self._emit(piece)

    def _end_of_call(self) -> Iterator[ev.Event]:
        held, self.held, self.call_text = self.held, None, False
        last = self.last_ai
        if held and not (last is not None and last.tool_calls and not last.text.strip()):
            for piece in held:
                yield from self._emit(piece)

    def _emit(self, piece: str) -> Iterator[ev.Event]:
        self.context.turn.streamed = True
        self.answer_parts.append(piece)
        yield ev.Token(piece)

    def _flush(self) -> Iterator[ev.Event]:
        for kind, piece in self.splitter.flush():
            yield from self._piece(kind, piece)
        yield from self._end_of_call()
