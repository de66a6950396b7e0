"""The conversation list in the sidebar: new, search, switch, rename, export, delete (with confirm)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from agent_app.service import ChatService
from agent_app.storage.threads import ThreadInfo
from agent_app.ui.render import sanitize_markdown
from agent_app.ui.state import K_THREAD, flash, open_thread, tr, user

LIST_LIMIT = 100
TITLE_POLL_S = 0.5


def date_groups(threads: Sequence[ThreadInfo], now: datetime) -> list[tuple[str, list[ThreadInfo]]]:
    """Conversations under Today, Yesterday, Previous 7 days, Previous 30 days and Older.

    Days are counted in `now`'s timezone (the browser's), so "yesterday" is the user's yesterday.
    """
    groups: dict[str, list[ThreadInfo]] = {}
    for info in threads:
        age = (now.date() - datetime.fromtimestamp(info.updated_at, now.tzinfo).date()).days
        key = (
            "today"
            if age <= 0
            else "yesterday"
            if age == 1
            else "week"
            if age <= 7
            else "month"
            if age <= 30
            else "older"
        )
        groups.setdefault(key, []).append(info)
    order = ("today", "yesterday", "week", "month", "older")
    return [(key, groups[key]) for key in order if key in groups]


def _browser_zone(default: str) -> tzinfo:
    for name in (getattr(st.context, "timezone", None), default, "UTC"):
        try:
            return ZoneInfo(name) if name else ZoneInfo("UTC")
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def watch_title(svc: ChatService, thread_id: str) -> None:
    """While the model writes this conversation's title, poll; show it once it is stored."""
    if not svc.title_pending(thread_id):
        return

    def poll() -> None:
        if not svc.title_pending(thread_id):
            st.rerun()

    st.fragment(poll, run_every=TITLE_POLL_S)()


def title_of(info: ThreadInfo | None) -> str:
    """A conversation's title for labels (sanitized: titles come from user text)."""
    raw = (info.title if info else "").strip() or tr("ui.untitled")
    return sanitize_markdown(raw if len(raw) <= 40 else raw[:39] + "…")


def _new() -> None:
    """Open a draft; the conversation is stored with its first message (no empty ones pile up)."""
    open_thread(None)


def _rename(svc: ChatService, thread_id: str) -> None:
    title = st.session_state.get(f"rename_{thread_id}", "").strip()
    if title:
        svc.rename_thread(user(svc), thread_id, title)
        flash(tr("ui.renamed"), ":material/check:")


def _delete(svc: ChatService, thread_id: str) -> None:
    st.session_state.pop(_confirm_key(thread_id), None)
    svc.delete_thread(user(svc), thread_id)
    st.session_state.pop(K_THREAD, None)
    if "thread" in st.query_params:
        del st.query_params["thread"]
    flash(tr("ui.deleted"), ":material/delete:")


def _manage(svc: ChatService, info: ThreadInfo) -> None:
    """The ⋯ menu of the open conversation."""
    with st.popover(
        "",
        icon=":material/more_horiz:",
        key=f"manage_{info.id}",
        help=tr("ui.manage"),
        type="tertiary",
    ):
        st.text_input(tr("ui.rename"), value=info.title, key=f"rename_{info.id}", max_chars=80)
        st.button(
            tr("ui.save"),
            key=f"rename_btn_{info.id}",
            icon=":material/edit:",
            on_click=_rename,
            args=(svc, info.id),
        )
        who = user(svc)
        with st.container(horizontal=True, gap="small"):
            st.download_button(
                "Markdown",
                lambda: svc.export_thread(who, info.id, "md"),
                file_name=f"conversation-{info.id[:8]}.md",
                mime="text/markdown",
                help=tr("ui.export"),
                key=f"export_md_{info.id}",
                on_click="ignore",
                icon=":material/download:",
            )
            st.download_button(
                "JSON",
                lambda: svc.export_thread(who, info.id, "json"),
                file_name=f"conversation-{info.id[:8]}.json",
                mime="application/json",
                help=tr("ui.export"),
                key=f"export_json_{info.id}",
                on_click="ignore",
                icon=":material/download:",
            )
            st.button(
                tr("ui.delete"),
                key=f"delete_{info.id}",
                icon=":material/delete:",
                on_click=lambda: st.session_state.update({_confirm_key(info.id): True}),
            )


def _confirm_key(thread_id: str) -> str:
    return f"confirm_delete_{thread_id}"


def _confirm_delete(svc: ChatService, info: ThreadInfo) -> None:
    """A modal that asks before a conversation is deleted for good."""
    key = _confirm_key(info.id)

    def body() -> None:  # a dialog is a fragment: finish with a full rerun so the list updates
        st.markdown(tr("ui.delete_confirm"))
        yes, no = st.columns(2)
        if yes.button(
            tr("ui.delete_yes"),
            key=f"delete_yes_{info.id}",
            type="primary",
            width="stretch",
            icon=":material/delete:",
        ):
            _delete(svc, info.id)
            st.rerun()
        if no.button(tr("ui.cancel"), key=f"delete_no_{info.id}", width="stretch"):
            st.session_state[key] = False
            st.rerun()

    st.dialog(tr("ui.delete"), on_dismiss=lambda: st.session_state.update({key: False}))(body)()


def _entry(svc: ChatService, info: ThreadInfo, current: ThreadInfo | None) -> None:
    """One conversation in the list; the open one has its ⋯ menu."""
    if current is not None and info.id == current.id:
        left, right = st.columns([6, 1], vertical_alignment="center", gap="small")
        left.button(title_of(info), key=f"thread_{info.id}", type="secondary", width="stretch")
        with right:
            _manage(svc, info)
    else:
        st.button(
            title_of(info),
            key=f"thread_{info.id}",
            type="tertiary",
            width="stretch",
            on_click=open_thread,
            args=(info.id,),
        )


def render(svc: ChatService, current: ThreadInfo | None) -> None:
    """Draw the conversation list into the sidebar."""
    with st.sidebar:
        st.button(
            tr("ui.new_chat"),
            key="new_chat",
            icon=":material/edit_square:",
            width="stretch",
            on_click=_new,
        )
        query = st.text_input(
            tr("ui.search"),
            key="thread_search",
            placeholder=tr("ui.search_hint"),
            label_visibility="collapsed",
            icon=":material/search:",
        )
        threads = svc.search_threads(user(svc), query or "")
        if query and not threads:
            st.caption(tr("ui.no_match"))
        shown = threads[:LIST_LIMIT]
        grouped = (
            [("", shown)]
            if query
            else date_groups(shown, datetime.now(_browser_zone(svc.settings.timezone)))
        )
        with st.container(key="thread_list", gap=None):
            for group, members in grouped:
                if group:
                    st.caption(tr(f"ui.group.{group}"))
                for info in members:
                    _entry(svc, info, current)
    if current is not None and st.session_state.get(_confirm_key(current.id)):
        _confirm_delete(svc, current)
