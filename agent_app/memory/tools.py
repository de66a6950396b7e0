"""Memory tools for the agent (remember / recall / forget) and the recall that runs before each model call."""

from __future__ import annotations

import logging
from typing import Any

from langchain.tools import ToolRuntime, tool
from langchain_core.messages import HumanMessage
from langgraph.store.base import BaseStore
from pydantic import BaseModel

from agent_app.agent.taint import turn_sources
from agent_app.errors import AppError
from agent_app.memory.service import SUGGESTED, MemoryService
from agent_app.prompts import load_prompt
from agent_app.textsafe import strip_invisible, truncate

log = logging.getLogger(__name__)
PROMPT_ITEM_CHARS = 500


# Explicit argument schemas: inferring them from the signatures makes pydantic build a schema for
# ToolRuntime too (then dropped), which costs ~50 ms per tool at every start. The model sees the same.
class _TextArgs(BaseModel):
    text: str


class _QueryArgs(BaseModel):
    query: str


class _MemoryIdArgs(BaseModel):
    memory_id: str


def _user_and_service(runtime: ToolRuntime) -> tuple[str, MemoryService]:
    """The calling user (from the run's context, never from model-chosen arguments) and a service."""
    context = runtime.context
    user = (
        context.get("user_id") if isinstance(context, dict) else getattr(context, "user_id", None)
    )
    if not user or runtime.store is None:
        raise AppError(
            "memory tools need a user in the run context and a store", key="memory.unavailable"
        )
    return str(user), MemoryService(runtime.store)


def _source(runtime: ToolRuntime) -> tuple[str | None, str | None]:
    """(thread id, id of the latest user message) — where a remembered fact came from."""
    thread = (runtime.config or {}).get("configurable", {}).get("thread_id")
    messages = (runtime.state or {}).get("messages", []) if isinstance(runtime.state, dict) else []
    human = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
    return (str(thread) if thread else None), (human.id if human is not None else None)


def _failed(exc: AppError) -> str:
    # Returned, not raised: a tool exception would end the whole turn instead of informing the model.
    return f"Error: {exc.user_message('en')}"


def _tainted(runtime: ToolRuntime) -> bool:
    """True when untrusted text (a document, a web page, a server's output) entered this turn."""
    messages = runtime.state.get("messages", []) if isinstance(runtime.state, dict) else []
    return bool(turn_sources(messages))


@tool(args_schema=_TextArgs)
def remember(text: str, runtime: ToolRuntime) -> str:
    """Save a durable fact about the user (preference, profile detail, ongoing project) for future conversations."""
    try:
        user, service = _user_and_service(runtime)
        thread, message = _source(runtime)
        suggested = _tainted(runtime)
        item = service.add(
            user,
            text,
            source_thread=thread,
            source_message=message,
            kind="manual",
            suggested=suggested,
        )
    except AppError as exc:
        return _failed(exc)
    if item["status"] == SUGGESTED:
        return (
            f"Stored memory {item['id']} as a suggestion: it is not used until the user confirms "
            f"it on the Memory page. Text: {item['text']}"
        )
    verb = "Updated existing memory" if item.get("merged") else "Saved memory"
    return f"{verb} {item['id']}: {item['text']}"


@tool(args_schema=_QueryArgs)
def recall(query: str, runtime: ToolRuntime) -> str:
    """Search what the user asked you to remember earlier; returns matching memories with their ids."""
    try:
        user, service = _user_and_service(runtime)
        items = service.search(user, query, k=5, confirmed_only=True)
    except AppError as exc:
        return _failed(exc)
    if not items:
        return "No matching memories."
    return "\n".join(
        f"- [{it['id']}] {_one_line(it['text'])} (score {it['score']:.2f})" for it in items
    )


@tool(args_schema=_MemoryIdArgs)
def forget(memory_id: str, runtime: ToolRuntime) -> str:
    """Delete one of the user's memories by its id (as shown by recall)."""
    try:
        user, service = _user_and_service(runtime)
        service.delete(user, memory_id)
    except AppError as exc:
        return _failed(exc)
    return f"Forgot memory {memory_id}."


remember.metadata = {"side_effects": True}
forget.metadata = {"side_effects": True, "needs_approval": True}  # a deletion always asks
MEMORY_TOOLS = [remember, recall, forget]


def recall_for_prompt(
    store: BaseStore, user_id: str, query: str, k: int = 5, min_score: float = 0.2
) -> tuple[list[dict[str, Any]], bool]:
    """The user's memories for the system prompt (score ≥ min_score), and if keywords alone found them.

    ([], False) when the store fails: recall is an aid and never fails the turn.
    """
    try:
        return MemoryService(store).recall(
            user_id, query, k, min_score=min_score, confirmed_only=True
        )
    except Exception:  # recall is an aid: a store failure must not fail the turn
        log.warning("memory recall failed for this turn", exc_info=True)
        return [], False


def _one_line(text: str) -> str:
    # Collapsed to one line so a memory cannot fake a new section or heading in the prompt.
    return truncate(" ".join(strip_invisible(text).split()), PROMPT_ITEM_CHARS, "…")


def format_memories(items: list[dict[str, Any]], lang: str = "zh") -> str:
    """The recall block for the system prompt (prompts/memory_recall.<lang>.md); '' when empty."""
    if not items:
        return ""
    lines = "\n".join(f"- [{it['id']}] {_one_line(str(it.get('text', '')))}" for it in items)
    # str.replace, not str.format: memory text may contain braces.
    return load_prompt("memory_recall", lang).replace("{memories}", lines)
