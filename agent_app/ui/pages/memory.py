"""The Memory page: see, search, correct, delete, export and import what the assistant remembers."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from agent_app.errors import AppError
from agent_app.memory.service import MemoryService
from agent_app.ui.blocks import md
from agent_app.ui.state import service, tr, user

K_FLASH = "mem_flash"


def _guard(action: Any, ok: str) -> None:
    """Run a memory operation from a callback; keep a message for the next run."""
    try:
        result = action()
        st.session_state[K_FLASH] = (
            "success",
            tr(ok, count=result if isinstance(result, int) else 0),
        )
    except AppError as err:
        st.session_state[K_FLASH] = ("error", err.user_message(st.session_state.get("ui.lang")))


def _add(mem: MemoryService, who: str) -> None:
    text = st.session_state.get("mem_new", "")
    _guard(lambda: mem.add(who, text), "ui.mem.saved")
    if st.session_state[K_FLASH][0] == "success":
        st.session_state["mem_new"] = ""


def _import(mem: MemoryService, who: str) -> None:
    upload = st.session_state.get("mem_import")
    if upload is None:
        return
    try:
        items = json.loads(upload.getvalue().decode("utf-8", "replace"))
    except ValueError:
        items = None
    _guard(
        lambda: mem.import_items(who, items if isinstance(items, list) else {}), "ui.mem.imported"
    )


def _suggested(mem: MemoryService, who: str, item: dict[str, Any]) -> None:
    """A memory a tool wrote after untrusted text: unused until the user confirms it here."""
    note, button = st.columns([6, 2], vertical_alignment="center")
    note.caption(":material/help: " + tr("ui.mem.suggested"))
    button.button(
        tr("ui.mem.confirm"),
        key=f"mem_confirm_{item['id']}",
        icon=":material/check:",
        on_click=lambda: _guard(lambda: mem.confirm(who, item["id"]), "ui.mem.confirmed"),
    )


def _item(mem: MemoryService, who: str, item: dict[str, Any]) -> None:
    with st.container(border=True, key=f"mem_{item['id']}"):
        md(item["text"])
        if item.get("status") == "suggested":
            _suggested(mem, who, item)
        text_col, edit_col, del_col = st.columns([6, 1, 1], vertical_alignment="center")
        updated = item["updated_at"][:16].replace("T", " ")
        text_col.caption(tr("ui.mem.meta", kind=item.get("kind") or "manual", updated=updated))
        with edit_col.popover("", icon=":material/edit:", type="tertiary"):
            st.text_area(
                tr("ui.mem.save"),
                item["text"],
                key=f"mem_edit_{item['id']}",
                label_visibility="collapsed",
            )
            st.button(
                tr("ui.mem.save"),
                key=f"mem_save_{item['id']}",
                on_click=lambda: _guard(
                    lambda: mem.update(who, item["id"], st.session_state[f"mem_edit_{item['id']}"]),
                    "ui.mem.saved",
                ),
            )
        del_col.button(
            "",
            key=f"mem_del_{item['id']}",
            icon=":material/delete:",
            type="tertiary",
            help=tr("ui.mem.delete"),
            on_click=lambda: _guard(lambda: mem.delete(who, item["id"]), "ui.mem.deleted"),
        )


def _footer(mem: MemoryService, who: str, count: int) -> None:
    st.divider()
    left, mid, right = st.columns(3)
    left.download_button(
        tr("ui.mem.export"),
        lambda: json.dumps(mem.export(who), ensure_ascii=False, indent=2),
        file_name="memories.json",
        mime="application/json",
        on_click="ignore",
        icon=":material/download:",
        key="mem_export",
    )
    with mid.popover(tr("ui.mem.import"), icon=":material/upload:"):
        st.file_uploader(
            tr("ui.mem.import"), type=["json"], key="mem_import", on_change=_import, args=(mem, who)
        )
    with right.popover(
        tr("ui.mem.forget_all"), icon=":material/delete_forever:", disabled=not count
    ):
        st.warning(tr("ui.mem.forget_confirm", count=count))
        st.button(
            tr("ui.mem.forget_all"),
            key="mem_forget",
            type="primary",
            on_click=lambda: _guard(lambda: mem.forget_all(who), "ui.mem.forgotten"),
        )


def page() -> None:
    """Render the Memory page."""
    svc = service()
    st.title(tr("ui.mem.title"), anchor=False)
    st.caption(tr("ui.mem.intro"))
    mem = svc.memory
    if mem is None:
        st.info(tr("ui.mem.unavailable"), icon=":material/construction:")
        return
    who = user(svc)
    flash = st.session_state.pop(K_FLASH, None)
    if flash:
        (st.error if flash[0] == "error" else st.success)(flash[1])
    with st.form("mem_add_form", clear_on_submit=False, border=False):
        st.text_area(tr("ui.mem.add"), key="mem_new", height=80)
        st.form_submit_button(
            tr("ui.mem.add_button"), icon=":material/add:", on_click=_add, args=(mem, who)
        )
    query = st.text_input(tr("ui.mem.search"), key="mem_query", icon=":material/search:")
    items = mem.search(who, query, k=20) if query else mem.list(who, limit=200)
    if not items:
        st.caption(tr("ui.mem.empty"))
    for item in items:
        _item(mem, who, item)
    _footer(mem, who, len(mem.list(who, limit=1000)) if query else len(items))
