"""Tool calls waiting for consent: Approve / Edit arguments / Reject, then the turn resumes."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from agent_app import events as ev
from agent_app.ui.render import sanitize_markdown
from agent_app.ui.state import K_ACTION, tr

K_DECISIONS = "ui.decisions"


def _decide(
    thread_id: str, pending: list[ev.ApprovalRequired], call_id: str, decision: dict[str, Any]
) -> None:
    """Record one decision; when every pending call has one, queue the resume for this run."""
    decided = st.session_state.setdefault(K_DECISIONS, {}).setdefault(thread_id, {})
    decided[call_id] = decision
    if all(req.call_id in decided for req in pending):
        decisions = [decided[req.call_id] for req in pending]
        st.session_state[K_DECISIONS].pop(thread_id, None)
        st.session_state[K_ACTION] = {"type": "resume", "thread": thread_id, "decisions": decisions}


def _edit(thread_id: str, pending: list[ev.ApprovalRequired], req: ev.ApprovalRequired) -> None:
    raw = st.session_state.get(f"edit_args_{req.call_id}", "")
    try:
        args = json.loads(raw)
        if not isinstance(args, dict):
            raise ValueError("not an object")
    except ValueError:
        st.session_state[f"edit_error_{req.call_id}"] = True
        return
    st.session_state.pop(f"edit_error_{req.call_id}", None)
    _decide(
        thread_id,
        pending,
        req.call_id,
        {"type": "edit", "edited_action": {"name": req.name, "args": args}},
    )


def _reject(thread_id: str, pending: list[ev.ApprovalRequired], req: ev.ApprovalRequired) -> None:
    reason = st.session_state.get(f"reject_reason_{req.call_id}", "").strip() or tr(
        "ui.approval.rejected"
    )
    _decide(thread_id, pending, req.call_id, {"type": "reject", "message": reason})


def _card(
    thread_id: str, pending: list[ev.ApprovalRequired], req: ev.ApprovalRequired, done: bool
) -> None:
    with st.container(border=True, key=f"approval_{req.call_id}"):
        st.markdown(
            ":material/front_hand: "
            + tr("ui.approval.title", name=f"`{req.name.replace('`', '')}`")
        )
        if req.reason:  # names a document or page: sanitized like any document text
            st.caption(":material/shield: " + sanitize_markdown(req.reason))
        st.code(json.dumps(req.args, ensure_ascii=False, indent=2), language="json")
        if done:
            st.caption(tr("ui.approval.decided"))
            return
        cols = st.columns(3)
        cols[0].button(
            tr("ui.approval.approve"),
            key=f"approve_{req.call_id}",
            type="primary",
            icon=":material/check:",
            width="stretch",
            on_click=_decide,
            args=(thread_id, pending, req.call_id, {"type": "approve"}),
        )
        with cols[1].popover(tr("ui.approval.edit"), icon=":material/edit:", width="stretch"):
            st.text_area(
                tr("ui.approval.args"),
                json.dumps(req.args, ensure_ascii=False, indent=2),
                key=f"edit_args_{req.call_id}",
                height=140,
            )
            if st.session_state.get(f"edit_error_{req.call_id}"):
                st.error(tr("ui.approval.bad_json"))
            st.button(
                tr("ui.approval.run_edited"),
                key=f"edit_go_{req.call_id}",
                on_click=_edit,
                args=(thread_id, pending, req),
            )
        with cols[2].popover(tr("ui.approval.reject"), icon=":material/block:", width="stretch"):
            st.text_input(tr("ui.approval.reason"), key=f"reject_reason_{req.call_id}")
            st.button(
                tr("ui.approval.reject_confirm"),
                key=f"reject_go_{req.call_id}",
                on_click=_reject,
                args=(thread_id, pending, req),
            )


def render(thread_id: str, pending: list[ev.ApprovalRequired]) -> None:
    """One card per pending call, in the assistant's bubble."""
    decided = st.session_state.get(K_DECISIONS, {}).get(thread_id, {})
    with st.chat_message("assistant"):
        for req in pending:
            _card(thread_id, pending, req, req.call_id in decided)
