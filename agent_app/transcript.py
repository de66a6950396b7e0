"""Stored messages as plain dicts, Markdown and JSON (thread view and export)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent_app.providers.thinking import ThinkSplitter


def _text(msg: BaseMessage) -> str:
    text = msg.text
    return text if isinstance(text, str) else str(text())


def message_dict(msg: BaseMessage) -> dict[str, Any] | None:
    """One stored message in a front-end friendly form; system messages are skipped."""
    if isinstance(msg, HumanMessage):
        return {"id": msg.id, "role": "user", "text": _text(msg)}
    if isinstance(msg, AIMessage):
        splitter = ThinkSplitter()
        parts = splitter.feed(_text(msg)) + splitter.flush()
        answer = "".join(p for k, p in parts if k == "token")
        reasoning = "".join(p for k, p in parts if k == "reasoning")
        reasoning = str(msg.additional_kwargs.get("reasoning_content") or "") + reasoning
        calls = [{"id": c.get("id"), "name": c.get("name"), "args": c.get("args")} for c in msg.tool_calls]
        return {"id": msg.id, "role": "assistant", "text": answer, "reasoning": reasoning,
                "tool_calls": calls, "incomplete": bool(msg.response_metadata.get("incomplete"))}
    if isinstance(msg, ToolMessage):
        return {"id": msg.id, "role": "tool", "text": _text(msg), "name": msg.name,
                "tool_call_id": msg.tool_call_id, "status": msg.status}
    return None


def to_dicts(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    return [d for d in (message_dict(m) for m in messages) if d is not None]


def to_json(title: str, thread_id: str, messages: list[dict[str, Any]]) -> str:
    return json.dumps({"id": thread_id, "title": title, "messages": messages}, ensure_ascii=False, indent=2)


def to_markdown(title: str, messages: list[dict[str, Any]]) -> str:
    """A readable transcript; tool steps as quoted lines."""
    lines = [f"# {title or 'Conversation'}", ""]
    for m in messages:
        if m["role"] == "user":
            lines += ["**User:**", "", m["text"], ""]
        elif m["role"] == "assistant":
            for c in m.get("tool_calls") or []:
                lines.append(f"> tool call `{c['name']}` {json.dumps(c['args'], ensure_ascii=False)}")
            if m["text"]:
                lines += ["**Assistant:**", "", m["text"], ""]
        elif m["role"] == "tool":
            lines += [f"> tool `{m.get('name')}` → {m['text'][:500]}", ""]
    return "\n".join(lines).rstrip() + "\n"
