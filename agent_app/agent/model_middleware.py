"""Middleware around each model call: retries and fallback, context trimming, memory recall."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.messages.utils import count_tokens_approximately, trim_messages
from langgraph.config import get_stream_writer

from agent_app.agent.context import AgentContext, TurnState
from agent_app.agent.toolcall_audit import start_capture, stop_capture
from agent_app.errors import AppError, StepLimitError, StopRequestedError
from agent_app.providers.classify import classify, is_retryable

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 20.0


def _turn(request: ModelRequest) -> TurnState:
    ctx = getattr(request.runtime, "context", None)
    return ctx.turn if isinstance(ctx, AgentContext) else TurnState()


def _write(event: dict[str, Any]) -> None:
    try:
        get_stream_writer()(event)
    except RuntimeError:  # outside a graph run (unit tests): nobody listens
        pass


class ResilientModelMiddleware(AgentMiddleware):
    """Bounded retries with backoff on transient errors only, then the fallback model."""

    def __init__(
        self,
        *,
        max_retries: int,
        semaphore: threading.BoundedSemaphore,
        fallback: BaseChatModel | None = None,
        fallback_label: str = "",
        backend: str = "model",
        model_label: str = "",
        base_delay: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.base_delay = base_delay
        self.max_retries, self.semaphore = max_retries, semaphore
        self.fallback, self.fallback_label = fallback, fallback_label
        self.backend, self.model_label, self.sleep = backend, model_label, sleep

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> ModelResponse:
        turn = _turn(request)
        try:
            return self._with_retries(request, handler, turn, self.model_label)
        except AppError as err:
            if self.fallback is None or turn.streamed or isinstance(err, StepLimitError | StopRequestedError):
                raise
            log.warning("primary model failed (%s); switching to fallback %s", err.kind, self.fallback_label)
            turn.fallback_used = self.fallback_label
            _write({"type": "notice", "kind": "fallback", "model": self.fallback_label})
            fallback_req = request.override(model=self.fallback)
            return self._with_retries(fallback_req, handler, turn, self.fallback_label)

    def _with_retries(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse],
                      turn: TurnState, label: str) -> ModelResponse:
        attempt = 0
        while True:
            if time.monotonic() > turn.deadline:
                raise StepLimitError("turn deadline")
            started = time.perf_counter()
            capture, token = start_capture(turn.stop)
            try:
                with self.semaphore:
                    response = handler(request)
            except Exception as exc:  # classify every provider failure into one AppError
                streamed = turn.streamed = turn.streamed or capture.text_seen
                err = classify(exc, self.backend, streamed=streamed)
                if not is_retryable(err) or streamed or attempt >= self.max_retries:
                    raise err from None
                delay = getattr(err, "retry_after", None)
                delay = min(MAX_BACKOFF_S, delay if delay is not None else self.base_delay * 2**attempt)
                self.sleep(delay * random.uniform(0.8, 1.2))
                attempt += 1
                log.info("retrying model call (%s), attempt %d", err.kind, attempt)
                continue
            finally:
                stop_capture(token)
            self._emit_usage(response, label, started)
            return response

    @staticmethod
    def _emit_usage(response: ModelResponse, label: str, started: float) -> None:
        msg = next((m for m in response.result if isinstance(m, AIMessage)), None)
        usage = getattr(msg, "usage_metadata", None) or {}
        _write({
            "type": "usage",
            "input_tokens": int(usage.get("input_tokens", 0)),
            "output_tokens": int(usage.get("output_tokens", 0)),
            "latency_ms": (time.perf_counter() - started) * 1000,
            "model": label,
        })


class ContextTrimMiddleware(AgentMiddleware):
    """Keeps the prompt inside the model's window; the newest user message is never dropped."""

    def __init__(self, max_tokens: int) -> None:
        super().__init__()
        self.max_tokens = max_tokens

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> ModelResponse:
        messages: list[Any] = list(request.messages)
        if count_tokens_approximately(messages) <= self.max_tokens:
            return handler(request)
        trimmed = trim_messages(
            messages, max_tokens=self.max_tokens, strategy="last",
            token_counter=count_tokens_approximately, start_on="human", allow_partial=False,
        )
        if not any(isinstance(m, HumanMessage) for m in trimmed):
            last_human = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
            trimmed = messages[last_human:]
        log.info("trimmed history from %d to %d messages", len(messages), len(trimmed))
        return handler(request.override(messages=list(trimmed)))  # type: ignore[arg-type]


class MemoryRecallMiddleware(AgentMiddleware):
    """Right before each model call, puts the user's most relevant memories into the system prompt."""

    def __init__(self, k: int, min_score: float, recall: Callable[..., list[dict[str, Any]]],
                 formatter: Callable[[list[dict[str, Any]], str], str]) -> None:
        super().__init__()
        self.k, self.min_score, self.recall, self.formatter = k, min_score, recall, formatter

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> ModelResponse:
        store, ctx = request.runtime.store, request.runtime.context
        if store is None or not isinstance(ctx, AgentContext):
            return handler(request)
        if not ctx.turn.memory_items:
            ctx.turn.memory_items = self._recall(store, ctx, request) or [{}]
            if ctx.turn.memory_items != [{}]:
                _write({"type": "memory_used", "items": ctx.turn.memory_items})
        items = [i for i in ctx.turn.memory_items if i]
        if not items:
            return handler(request)
        base = request.system_message.content if request.system_message else ""
        text = f"{base}\n\n{self.formatter(items, ctx.lang)}".strip()
        return handler(request.override(system_message=SystemMessage(content=text)))

    def _recall(self, store: Any, ctx: AgentContext, request: ModelRequest) -> list[dict[str, Any]]:
        query = next((m.text for m in reversed(request.messages) if isinstance(m, HumanMessage)), "")
        if not query.strip():
            return []
        items = self.recall(store, ctx.user_id, query, self.k, self.min_score)
        return [{"id": i.get("id"), "text": str(i.get("text", "")), "score": i.get("score")} for i in items]
