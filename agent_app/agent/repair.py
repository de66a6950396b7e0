"""After a failed or stopped turn: leave the conversation usable for the next one."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, RemoveMessage
from langgraph.graph.message import REMOVE_ALL_MESSAGES

from agent_app.agent.history_middleware import repair_dangling
from agent_app.agent.thread_state import stored_messages, thread_config


def drop_last_input(graph: Any, thread_id: str) -> None:
    """Remove the last user message and what followed it (input the provider refused to read)."""
    messages = stored_messages(graph, thread_id)
    idx = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=None)
    if idx is not None:
        removals: list[BaseMessage] = [RemoveMessage(id=m.id) for m in messages[idx:] if m.id]
        graph.update_state(thread_config(thread_id), {"messages": removals})


def answer_dangling_calls(graph: Any, thread_id: str, note: str) -> None:
    """Give every tool call left without a result one (`note`), so the provider accepts the history."""
    fixed = repair_dangling(stored_messages(graph, thread_id), note)
    if fixed is not None:
        graph.update_state(
            thread_config(thread_id), {"messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES), *fixed]}
        )
