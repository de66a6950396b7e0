"""A conversation's stored state, read through the graph's public API: messages and waiting approvals."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langchain_core.messages import AnyMessage
from langchain_core.runnables import RunnableConfig
from langgraph.types import Interrupt

from agent_app import events as ev


def thread_config(thread_id: str) -> RunnableConfig:
    """The run config that names a conversation's checkpoints."""
    return {"configurable": {"thread_id": thread_id}}


def approvals(interrupts: Iterable[Interrupt]) -> list[ev.ApprovalRequired]:
    """One event per tool call a HumanInTheLoopMiddleware interrupt asks the user about."""
    out: list[ev.ApprovalRequired] = []
    for intr in interrupts:
        value = intr.value if isinstance(intr.value, dict) else {}
        for req in value.get("action_requests", []):
            out.append(
                ev.ApprovalRequired(
                    req.get("id") or intr.id,
                    req.get("name", ""),
                    req.get("args") or {},
                    str(req.get("description") or ""),
                )
            )
    return out


def stored_messages(graph: Any, thread_id: str) -> list[AnyMessage]:
    """The conversation's messages as its last checkpoint holds them."""
    return list(graph.get_state(thread_config(thread_id)).values.get("messages", []))


def pending_approvals(graph: Any, thread_id: str) -> list[ev.ApprovalRequired]:
    """Tool calls still waiting for consent (they survive reloads: they live in the checkpoint)."""
    return approvals(graph.get_state(thread_config(thread_id)).interrupts)
