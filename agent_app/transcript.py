"""Stored messages as plain dicts, Markdown and JSON (thread view and export)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent_app.providers.thinking import ThinkSplitter

EDIT_NOTICE = (
    "Note: a human reviewer replaced this tool call before it ran. The call recorded in "
    "your message is the one you produced, not the one that executed. This was "
    "intentional and authorized. Do not re-issue your original call."
)
"""Told to the model (HumanInTheLoopMiddleware's edit_notice) and cut from what the user sees."""
REJECT_PREFIX = "User rejected the tool call for `"
"""How the approval middleware words a rejection for the model."""


def _text(msg: BaseMessage) -> str:
    text = msg.text
    return text if isinstance(text, str) else str(text())


def message_dict(msg: BaseMessage) -> dict[str, Any] | None:
    """One stored message in a front-end friendly form; system messages are skipped."""
    if isinstance(msg, HumanMessage):
        images = [
            str((b.get("image_url") or {}).get("url", ""))
            for b in (msg.content if isinstance(msg.content, list) else [])
            if isinstance(b, dict) and b.get("type") == "image_url"
        ]
        role = "summary" if msg.additional_kwargs.get("lc_source") == "summarization" else "user"
        return {"id": msg.id, "role": role, "text": _text(msg), "images": images}
    if isinstance(msg, AIMessage):
        splitter = ThinkSplitter()
        parts = splitter.feed(_text(msg)) + splitter.flush()
        answer = "".join(p for k, p in parts if k == "token")
        reasoning = "".join(p for k, p in parts if k == "reasoning")
        reasoning = str(msg.additional_kwargs.get("reasoning_content") or "") + reasoning
        calls = [
            {"id": c.get("id"), "name": c.get("name"), "args": c.get("args")}
            for c in msg.tool_calls
        ]
        return {
            "id": msg.id,
            "role": "assistant",
            "text": answer,
            "reasoning": reasoning,
            "tool_calls": calls,
            "incomplete": bool(msg.response_metadata.get("incomplete")),
        }
    if isinstance(msg, ToolMessage):
        return {
            "id": msg.id,
            "role": "tool",
            "text": _text(msg),
            "name": msg.name,
            "tool_call_id": msg.tool_call_id,
            "status": msg.status,
            "duration_ms": msg.response_metadata.get("duration_ms"),
        }
    return None


def tool_outcome(text: str, status: str | None) -> tuple[str, str]:
    """What a tool step shows the user: ('done'|'error'|'rejected'|'edited', text without model notes)."""
    if text.startswith(EDIT_NOTICE):
        _, _, rest = text.partition("Tool response:")
        return "edited", rest.strip()
    if status == "error" and text.startswith(REJECT_PREFIX):
        _, found, reason = text.partition("with reason: ")
        return "rejected", reason.strip() if found else ""
    return ("error" if status == "error" else "done"), text


def to_dicts(
    messages: Sequence[BaseMessage], notes: Mapping[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Messages as dicts; each tool call carries the result answering it in the same message.

    `notes` (by message id) are the turn notes stored beside the messages: usage, sources, failures.
    """
    notes = notes or {}
    out: list[dict[str, Any]] = []
    open_calls: list[dict[str, Any]] = []
    for msg in messages:
        d = message_dict(msg)
        if d is None:
            continue
        if d["id"] in notes:
            d["notes"] = notes[d["id"]]
        if d["role"] == "assistant":
            open_calls = list(d["tool_calls"])
        elif d["role"] == "tool":
            # Ids repeat across messages on some servers (call_0 each time): match only the open calls.
            call = next((c for c in open_calls if c.get("id") == d["tool_call_id"]), None)
            if call is not None:
                open_calls.remove(call)
                outcome, text = tool_outcome(d["text"], d["status"])
                call["result"] = {"outcome": outcome, "text": text, "duration_ms": d["duration_ms"]}
        else:
            open_calls = []
        out.append(d)
    return out


def to_json(title: str, thread_id: str, messages: list[dict[str, Any]]) -> str:
    """A conversation export as JSON."""
    return json.dumps(
        {"id": thread_id, "title": title, "messages": messages}, ensure_ascii=False, indent=2
    )


def to_markdown(title: str, messages: list[dict[str, Any]]) -> str:
    """A readable transcript; tool steps as quoted lines."""
    lines = [f"# {title or 'Conversation'}", ""]
    for m in messages:
        if m["role"] == "user":
            lines += ["**User:**", "", m["text"], ""]
            lines += [f"![image {i}]({url})" for i, url in enumerate(m.get("images") or [], 1)]
            lines += [""] if m.get("images") else []
        elif m["role"] == "assistant":
            for c in m.get("tool_calls") or []:
                lines.append(
                    f"> tool call `{c['name']}` {json.dumps(c['args'], ensure_ascii=False)}"
                )
            if m["text"]:
                lines += ["**Assistant:**", "", m["text"], ""]
        elif m["role"] == "tool":
            lines += [f"> tool `{m.get('name')}` → {m['text'][:500]}", ""]
        elif m["role"] == "summary":
            lines += ["> " + m["text"].replace("\n", "\n> "), ""]
    return "\n".join(lines).rstrip() + "\n"
