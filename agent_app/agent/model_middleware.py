"""Middleware around each model call: retries, fallback, the guarded attempt, trimming, recall."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from langchain.agents.middleware import (
    AgentMiddleware,
    ModelFallbackMiddleware,
    ModelRequest,
    ModelResponse,
    ModelRetryMiddleware,
)
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.messages.utils import count_tokens_approximately, trim_messages
from langgraph.config import get_stream_writer

from agent_app.agent.async_twins import async_twins
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


@async_twins
class ProviderCallMiddleware(AgentMiddleware):
    """One model attempt, guarded.

    The turn's deadline, the global semaphore, the streamed-text watch, every provider failure
    classified into one AppError, and a usage event.
    """

    def __init__(
        self,
        *,
        semaphore: threading.BoundedSemaphore,
        backend: str = "model",
        model_label: str = "",
    ) -> None:
        super().__init__()
        self.semaphore, self.backend, self.model_label = semaphore, backend, model_label

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        """One provider call within the turn's deadline and the global limit, errors classified."""
        turn = _turn(request)
        if time.monotonic() > turn.deadline:
            raise StepLimitError("turn deadline")
        started = time.perf_counter()
        capture, token = start_capture()
        try:
            with self.semaphore:  # 50 sessions never make 50 parallel calls (or retries)
                response = handler(request)
        except Exception as exc:
            turn.streamed = turn.streamed or capture.text_seen
            err = classify(exc, self.backend, streamed=turn.streamed)
            err.after_text = turn.streamed  # type: ignore[attr-defined]
            raise err from None
        finally:
            stop_capture(token)
        self._emit_usage(response, turn.fallback_used or self.model_label, started)
        return response

    @staticmethod
    def _emit_usage(response: ModelResponse, label: str, started: float) -> None:
        emit_usage(
            next((m for m in response.result if isinstance(m, AIMessage)), None), label, started
        )


def emit_usage(message: Any, label: str, started: float) -> None:
    """Report one model call's tokens to the turn (shown with it, and counted to the user's day)."""
    usage = getattr(message, "usage_metadata", None) or {}
    _write(
        {
            "type": "usage",
            "input_tokens": int(usage.get("input_tokens", 0)),
            "output_tokens": int(usage.get("output_tokens", 0)),
            "latency_ms": (time.perf_counter() - started) * 1000,
            "model": label,
        }
    )


def may_retry(exc: Exception) -> bool:
    """Transient provider errors only, and never once answer text reached the user."""
    return isinstance(exc, AppError) and is_retryable(exc) and not getattr(exc, "after_text", False)


@async_twins
class ProviderRetryMiddleware(ModelRetryMiddleware):
    """Langchain's retry loop (exponential backoff with jitter) on `may_retry` errors.

    The next attempt waits at least the provider's Retry-After (capped).
    """

    def __init__(
        self,
        *,
        max_retries: int,
        base_delay: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            max_retries=max_retries,
            retry_on=may_retry,
            on_failure="error",
            initial_delay=base_delay,
            max_delay=MAX_BACKOFF_S,
        )
        self.sleep = sleep

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse | AIMessage:
        """Retry transient errors (never after answer text), honouring Retry-After."""
        attempts = [0]

        def attempt(req: ModelRequest) -> ModelResponse:
            attempts[0] += 1
            try:
                return handler(req)
            except AppError as err:
                if may_retry(err) and attempts[0] <= self.max_retries:
                    log.info("retrying model call (%s), attempt %d", err.kind, attempts[0])
                    wait = getattr(err, "retry_after", None)
                    if wait:
                        self.sleep(min(MAX_BACKOFF_S, wait))  # the backoff comes on top
                raise

        return super().wrap_model_call(request, attempt)


@async_twins
class ProviderFallbackMiddleware(ModelFallbackMiddleware):
    """Langchain's fallback loop, switching only when the primary's failure allows it.

    Never after answer text streamed, never past the turn's deadline or a stop; the switch is
    logged and shown.
    """

    def __init__(self, fallback: BaseChatModel, label: str) -> None:
        super().__init__(fallback)
        self.label = label

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse | AIMessage:
        """Switch to the fallback model when the primary fails before any answer text."""
        turn, primary = _turn(request), request.model
        failures: list[Exception] = []

        def attempt(req: ModelRequest) -> ModelResponse:
            if req.model is primary:
                try:
                    return handler(req)
                except Exception as exc:
                    failures.append(exc)
                    raise
            first = failures[0]
            if (
                turn.streamed
                or not isinstance(first, AppError)
                or isinstance(first, StepLimitError | StopRequestedError)
            ):
                raise first  # the base class then ends with this same error
            log.warning(
                "primary model failed (%s); switching to fallback %s", first.kind, self.label
            )
            turn.fallback_used = self.label
            _write({"type": "notice", "kind": "fallback", "model": self.label})
            return handler(req)

        return super().wrap_model_call(request, attempt)


@async_twins
class ContextTrimMiddleware(AgentMiddleware):
    """Keeps the prompt inside the model's window; the newest user message is never dropped."""

    def __init__(self, max_tokens: int) -> None:
        super().__init__()
        self.max_tokens = max_tokens

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        """Trim the prompt (not the stored thread) to the budget, newest messages kept."""
        messages: list[Any] = list(request.messages)
        if count_tokens_approximately(messages) <= self.max_tokens:
            return handler(request)
        trimmed = trim_messages(
            messages,
            max_tokens=self.max_tokens,
            strategy="last",
            token_counter=count_tokens_approximately,
            start_on="human",
            allow_partial=False,
        )
        if not any(isinstance(m, HumanMessage) for m in trimmed):
            last_human = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
            trimmed = messages[last_human:]
        log.info("trimmed history from %d to %d messages", len(messages), len(trimmed))
        return handler(request.override(messages=list(trimmed)))  # type: ignore[arg-type]


@async_twins
class MemoryRecallMiddleware(AgentMiddleware):
    """Right before each model call, puts the user's most relevant memories into the system prompt."""

    def __init__(
        self,
        k: int,
        min_score: float,
        recall: Callable[..., tuple[list[dict[str, Any]], bool]],
        formatter: Callable[[list[dict[str, Any]], str], str],
    ) -> None:
        super().__init__()
        self.k, self.min_score, self.recall, self.formatter = k, min_score, recall, formatter

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        """Put the user's relevant memories into the system prompt before the model call."""
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
        query = next(
            (m.text for m in reversed(request.messages) if isinstance(m, HumanMessage)), ""
        )
        if not query.strip():
            return []
        items, keyword_only = self.recall(store, ctx.user_id, query, self.k, self.min_score)
        if keyword_only:
            _write({"type": "notice", "kind": "memory_keyword_only"})
        return [
            {"id": i.get("id"), "text": str(i.get("text", "")), "score": i.get("score")}
            for i in items
        ]
