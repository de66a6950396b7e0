"""The stored conversation, replayed as chat bubbles (answers, thinking, tool steps, turn notes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from agent_app.service import ChatService
from agent_app.ui import blocks
from agent_app.ui.actions import answer_row, question_row
from agent_app.ui.state import tr

ACTION_BUBBLES = 8
"""Message actions on the most recent bubbles only (each row is a dozen widgets on every rerun)."""
PAGE = 60
"""Messages shown at first; older ones appear on demand (keeps reruns fast on long threads)."""
Turn = tuple[str, list[dict[str, Any]], dict[str, Any] | None]
"""A bubble: role, its messages, and the failure mark of the turn (assistant bubbles only)."""


def _turns(messages: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Group messages into bubbles: each user message, then everything the assistant did after it."""
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    for msg in messages:
        role = msg["role"] if msg["role"] in ("user", "summary") else "assistant"
        if groups and role == "assistant" and groups[-1][0] == "assistant":
            groups[-1][1].append(msg)
        else:
            groups.append((role, [msg]))
    return groups


def _assistant(group: list[dict[str, Any]], waiting: bool) -> None:
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
        if msg.get("notes"):
            blocks.turn_notes(msg["notes"])


def _failed(mark: dict[str, Any], retry: Callable[[], None] | None) -> None:
    """Where a turn failed or was stopped: what reached the screen, why, and Retry on the last one."""
    if mark.get("partial"):
        blocks.md(mark["partial"])
        st.caption(":material/warning: " + tr("ui.partial_not_saved"))
    if retry is None:
        st.caption(":material/error: " + tr("ui.turn_failed", message=mark.get("message", "")))
        return
    show = st.warning if mark.get("kind") in blocks.SOFT_ERRORS else st.error
    show(mark.get("message", ""), icon=":material/error:")
    if mark.get("kind") in blocks.RETRYABLE:
        blocks.retry_button(retry)


def render(
    messages: list[dict[str, Any]],
    thread_id: str,
    waiting: bool = False,
    retry: Callable[[], None] | None = None,
    actions: ChatService | None = None,
) -> bool:
    """Replay a conversation; long ones start with the most recent messages.

    `waiting`: the turn is paused for approval, so the last message's unanswered calls wait.
    `retry` is offered under the last turn when it failed; returns True when that mark was shown.
    `actions`: the service that message actions (copy, thumbs, regenerate, edit) call; None: none.
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
    groups = _with_marks(_turns(messages))
    asked: dict[str, Any] | None = None
    for index, (role, group, mark) in enumerate(groups):
        last = index == len(groups) - 1
        acts = actions if index >= len(groups) - ACTION_BUBBLES else None
        if role == "summary":
            _condensed(group[0]["text"])
            continue
        with st.chat_message(role):
            if role == "user":
                asked = group[0]
                blocks.md(asked["text"])
                blocks.images(asked.get("images") or [])
                if acts is not None and not waiting and not asked.get("condensed"):
                    question_row(thread_id, asked)
                continue
            _assistant(group, waiting and last)
            if mark:
                _failed(mark, retry if last else None)
            answer = next((m for m in reversed(group) if m["role"] == "assistant"), None)
            if acts is not None and answer is not None and not (waiting and last):
                text = "\n\n".join(
                    m["text"] for m in group if m["role"] == "assistant" and m["text"]
                )
                answer_row(acts, thread_id, asked, answer, text, last and not mark)
    return bool(groups and groups[-1][2])


def _condensed(summary: str) -> None:
    """Where earlier turns were condensed: a divider, with the summary the model now works from."""
    st.divider()
    st.caption(":material/compress: " + tr("ui.condensed"))
    with st.expander(tr("ui.condensed_summary"), icon=":material/summarize:"):
        blocks.md(summary)


def _mark(group: list[dict[str, Any]]) -> dict[str, Any] | None:
    return (group[0].get("notes") or {}).get("failed") or None


def _with_marks(groups: list[tuple[str, list[dict[str, Any]]]]) -> list[Turn]:
    """Each assistant bubble with the failure mark of the user message it answers.

    A turn that failed before storing any step gets an empty bubble, so the mark stays visible.
    """
    out: list[Turn] = []
    for role, group in groups:
        asked = out[-1][1] if out and out[-1][0] == "user" else None
        if role == "assistant":
            out.append((role, group, _mark(asked) if asked else None))
            continue
        if asked and _mark(asked):
            out.append(("assistant", [], _mark(asked)))
        out.append((role, group, None))
    if out and out[-1][0] == "user" and _mark(out[-1][1]):
        out.append(("assistant", [], _mark(out[-1][1])))
    return out
