"""Sharing a collection read-only (Knowledge page) and the owners' names shown with shared ones."""

from __future__ import annotations

from typing import Any

import streamlit as st

from agent_app.errors import AppError
from agent_app.knowledge.service import KnowledgeService
from agent_app.knowledge.sharing import EVERYONE
from agent_app.service import ChatService
from agent_app.ui.state import flash, tr


def user_names(svc: ChatService) -> dict[str, str]:
    """{user id: display name} of every account (empty without an account store)."""
    if svc.accounts is None:
        return {}
    return {u.user_id: u.name for u in svc.accounts.list_users()}


def grantee_text(grantees: list[str], names: dict[str, str]) -> str:
    """'everyone, bob' for a list of grantee ids."""
    return ", ".join(tr("ui.kb.everyone") if g == EVERYONE else names.get(g, g) for g in grantees)


def _save(kb: KnowledgeService, name: str, key: str, toast: bool) -> None:
    """Make the collection's grantees exactly what the form says (a callback)."""
    wanted = set(st.session_state.get(f"{key}_users") or [])
    everyone = bool(st.session_state.get(f"{key}_everyone"))
    try:
        current = set(next(c for c in kb.readable([name]) if not c["read_only"])["shared_with"])
        gone = sorted((current - {EVERYONE}) - wanted)
        if gone or (EVERYONE in current and not everyone):
            kb.unshare(name, gone, everyone=EVERYONE in current and not everyone)
        if wanted - current or (everyone and EVERYONE not in current):
            kb.share(name, sorted(wanted - current), everyone=everyone)
        _say("success", tr("ui.kb.sharing_saved"), toast)
    except (AppError, StopIteration) as err:
        message = (
            err.user_message(st.session_state.get("ui.lang"))
            if isinstance(err, AppError)
            else tr("error.internal")
        )
        _say("error", message, toast)


def _say(kind: str, message: str, toast: bool) -> None:
    if toast:  # the Admin page shows queued toasts
        flash(message, ":material/group:" if kind == "success" else ":material/error:")
    else:  # the Knowledge page shows "kb_flash" on its next run
        st.session_state["kb_flash"] = (kind, message)


def share_box(
    svc: ChatService, kb: KnowledgeService, col: dict[str, Any], at: Any, *, toast: bool = False
) -> None:
    """Who the owner's collection is shared with, and a popover to change it (multi-user only)."""
    names = user_names(svc)
    if col["shared_with"]:
        st.caption(tr("ui.kb.shared_with", names=grantee_text(col["shared_with"], names)))
    if svc.accounts is None:  # one local user: nobody to share with
        return
    others = [uid for uid in names if uid != kb.user]
    key = f"kb_share_{col['id']}"
    with at.popover(tr("ui.kb.share"), icon=":material/group:", width="stretch"):
        st.multiselect(
            tr("ui.kb.share_with"),
            others,
            default=[g for g in col["shared_with"] if g in others],
            format_func=lambda uid: names.get(uid, uid),
            key=f"{key}_users",
        )
        st.checkbox(
            tr("ui.kb.share_everyone"), value=EVERYONE in col["shared_with"], key=f"{key}_everyone"
        )
        st.button(
            tr("ui.kb.share_save"),
            key=f"{key}_save",
            on_click=_save,
            args=(kb, col["name"], key, toast),
        )
