"""build_agent: the whole agent made from arguments — nothing is built at import time."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

from agent_app.agent.condense import Archive, CondenseMiddleware
from agent_app.agent.context import AgentContext
from agent_app.agent.history_middleware import HistoryRepairMiddleware, ToolCallValidationMiddleware
from agent_app.agent.model_middleware import (
    ContextTrimMiddleware,
    MemoryRecallMiddleware,
    ProviderCallMiddleware,
    ProviderFallbackMiddleware,
    ProviderRetryMiddleware,
)
from agent_app.agent.taint import approval_middleware
from agent_app.agent.tool_middleware import ToolGuardMiddleware
from agent_app.prompts import load_prompt
from agent_app.settings import Settings

_SEMAPHORES: dict[int, threading.BoundedSemaphore] = {}
_SEM_LOCK = threading.Lock()


def model_semaphore(limit: int) -> threading.BoundedSemaphore:
    """One process-wide semaphore per limit: 50 sessions never make 50 parallel retries."""
    with _SEM_LOCK:
        return _SEMAPHORES.setdefault(limit, threading.BoundedSemaphore(limit))


def model_call_middleware(
    settings: Settings,
    fallback: BaseChatModel | None,
    fallback_label: str,
    backend: str,
    model_label: str,
) -> list[AgentMiddleware]:
    """History repair, fallback, retries and the guarded provider attempt, outermost first."""
    # Fallback wraps the retries of each model, and every retry is one guarded provider attempt
    # that re-runs recall, trimming and the tool-call JSON check.
    middleware: list[AgentMiddleware] = [HistoryRepairMiddleware()]
    if fallback is not None:
        middleware.append(ProviderFallbackMiddleware(fallback, fallback_label))
    middleware += [
        ProviderRetryMiddleware(
            max_retries=settings.max_retries, base_delay=settings.retry_base_delay
        ),
        ProviderCallMiddleware(
            semaphore=model_semaphore(settings.max_concurrent_model_calls),
            backend=backend,
            model_label=model_label,
        ),
    ]
    return middleware


def build_agent(
    settings: Settings,
    *,
    model: BaseChatModel,
    tools: Sequence[BaseTool] = (),
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    fallback: BaseChatModel | None = None,
    fallback_label: str = "",
    model_label: str = "",
    backend: str = "model",
    approval_tools: Sequence[str] = (),
    approval_mode: str = "ask",
    lang: str | None = None,
    extra_middleware: Sequence[AgentMiddleware] = (),
    archive: Archive | None = None,
    recall: bool | None = None,
) -> Any:
    """Compile the agent graph: create_agent + our middleware, wired from arguments.

    `recall`: put memories into the prompt (default: when a store is given; True for a store the
    LangGraph Server injects at run time).
    """
    middleware = model_call_middleware(settings, fallback, fallback_label, backend, model_label)
    if (store is not None if recall is None else recall) and settings.memory_recall:
        from agent_app.memory.tools import format_memories, recall_for_prompt

        middleware.append(
            MemoryRecallMiddleware(
                settings.memory_recall_k,
                settings.recall_min_score,
                recall_for_prompt,
                format_memories,
            )
        )
    if settings.condense_history:  # older turns summarized instead of dropped; trimming stays a net
        middleware.append(CondenseMiddleware(model, settings.context_tokens, archive, model_label))
    middleware += [
        ContextTrimMiddleware(settings.context_tokens),
        ToolCallValidationMiddleware(),
        ToolGuardMiddleware(
            settings.max_tool_calls, [t.name for t in tools], timeout=settings.tool_timeout_s
        ),
    ]
    middleware.extend(approval_middleware(tools, approval_tools, approval_mode))
    middleware.extend(extra_middleware)
    return create_agent(
        model,
        tools=list(tools),
        system_prompt=load_prompt("system", lang or settings.lang),
        middleware=middleware,
        context_schema=AgentContext,
        checkpointer=checkpointer,
        store=store,
    )
