"""The stored conversation, replayed as chat bubbles (answers, thinking, tool steps, turn notes)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from agent_app.ui import blocks
from agent_app.ui.state import K_META, bucket, tr

PAGE = 60
"""Messages shown at first; older ones appear on demand (keeps reruns fast on long threads)."""


def _turns(messages: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Group messages into bubbles: each user message, then everything the assistant did after it."""
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    for msg in messages:
        role = "user" if msg["role"] == "user" else "assistant"
        if groups and role == "assistant" and groups[-1][0] == "assistant":
            groups[-1][1].append(msg)
        else:
            groups.append((role, [msg]))
    return groups


def _assistant(group: list[dict[str, Any]], waiting: bool) -> None:
    meta = bucket(K_META)
    last = next((m for m in reversed(group) if m["role"] == "assistant"), None)
    for msg in group:
        if msg["role"] != "assistant":
            continue
        if msg.get("reasoning"):
            blocks.thinking(msg["reasoning"])
        for call in msg.get("tool_calls") or []:
            blocks.tool_step(
                call.get("name") or "?",
                call.get("args") or {},
                call.get("result"),
                waiting=waiting and msg is last,
            )
        if msg.get("text"):
            blocks.md(msg["text"])
        if msg.get("incomplete"):
            st.caption(":material/warning: " + tr("ui.incomplete"))
        if msg.get("id") in meta:
            blocks.turn_notes(meta[msg["id"]])


def render(messages: list[dict[str, Any]], thread_id: str, waiting: bool = False) -> None:
    """Replay a conversation; long ones start with the most recent messages.

    `waiting`: the turn is paused for approval, so the last message's unanswered calls wait.
    """
    shown_key = f"ui.shown.{thread_id}"
    limit = st.session_state.get(shown_key, PAGE)
    if len(messages) > limit:
        cut = len(messages) - limit
        while cut > 0 and messages[cut]["role"] != "user":  # start at a turn boundary
            cut -= 1
        st.button(
            tr("ui.show_earlier", count=cut),
            key=f"earlier_{thread_id}",
            icon=":material/history:",
            type="tertiary",
            on_click=lambda: st.session_state.update({shown_key: limit + PAGE}),
        )
        messages = messages[cut:]
    groups = _turns(messages)
    for index, (role, group) in enumerate(groups):
        with st.chat_message(role):
            if role == "user":
                blocks.md(group[0]["text"])
            else:
                _assistant(group, waiting and index == len(groups) - 1)
