"""The Admin page (admins only): users, usage per user per day with a chart, budgets, shared collections."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from agent_app.errors import AppError
from agent_app.service import ChatService
from agent_app.ui.kb_sharing import grantee_text, share_box, user_names
from agent_app.ui.signin import session_identity
from agent_app.ui.state import flash, service, show_flash, tr

K_PICK = "admin_pick"


def _run(action: Any, done_key: str = "admin.done", **params: object) -> None:
    """Do one admin action from a callback and say how it went on the next run."""
    try:
        action()
        flash(tr(done_key, **params), ":material/check:")
    except AppError as err:
        flash(err.user_message(st.session_state.get("ui.lang")), ":material/error:")


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "–"


def _users(svc: ChatService) -> list[Any]:
    accounts, ledger = svc.accounts, svc.budget
    assert accounts is not None
    rows = accounts.list_users()
    table = [
        {
            tr("admin.col.name"): u.name,
            tr("admin.col.mode"): u.mode,
            tr("admin.col.admin"): accounts.identity(u).is_admin,
            tr("admin.col.disabled"): u.disabled,
            tr("admin.col.last_login"): _when(u.last_login),
            tr("admin.col.tokens_today"): ledger.tokens_today(u.user_id) if ledger else 0,
        }
        for u in rows
    ]
    st.dataframe(table, hide_index=True, width="stretch")
    return rows


def _add_form(svc: ChatService) -> None:
    accounts = svc.accounts
    assert accounts is not None
    with st.form("admin_add", clear_on_submit=True, border=True):
        st.markdown(f"**{tr('admin.add')}**")
        name = st.text_input(tr("auth.name"), key="admin_new_name")
        password = st.text_input(tr("auth.password"), type="password", key="admin_new_password")
        is_admin = st.checkbox(tr("admin.is_admin"), key="admin_new_admin")
        if st.form_submit_button(tr("admin.add"), icon=":material/person_add:"):
            _run(
                lambda: accounts.add_user(name, password, is_admin=is_admin),
                "admin.added",
                name=name,
            )
            st.rerun()


def _manage(svc: ChatService, rows: list[Any]) -> None:
    accounts, ledger = svc.accounts, svc.budget
    assert accounts is not None
    if not rows:
        return
    names = {u.user_id: u.name for u in rows}
    picked = st.selectbox(
        tr("admin.select"), list(names), format_func=lambda uid: names[uid], key=K_PICK
    )
    user = next(u for u in rows if u.user_id == picked)
    me = session_identity()
    cols = st.columns(3)
    cols[0].button(
        tr("admin.enable") if user.disabled else tr("admin.disable"),
        key="admin_toggle_disabled",
        disabled=me is not None and me.user_id == user.user_id,
        on_click=_run,
        args=(lambda: accounts.set_disabled(user.user_id, not user.disabled),),
    )
    cols[1].button(
        tr("admin.revoke_admin") if user.is_admin else tr("admin.make_admin"),
        key="admin_toggle_admin",
        disabled=me is not None and me.user_id == user.user_id,
        on_click=_run,
        args=(lambda: accounts.set_admin(user.user_id, not user.is_admin),),
    )
    if user.mode == "password":
        with cols[2].popover(tr("admin.reset"), icon=":material/key:"):
            st.text_input(tr("admin.new_password"), type="password", key="admin_reset_pw")
            st.button(
                tr("admin.reset"),
                key="admin_reset_go",
                on_click=_run,
                args=(
                    lambda: accounts.reset_password(
                        user.user_id, st.session_state.get("admin_reset_pw", "")
                    ),
                ),
            )
    if ledger is not None:
        _budget(ledger, user)


def _budget(ledger: Any, user: Any) -> None:
    st.markdown(f"**{tr('admin.budgets')}**")
    d = ledger.defaults
    st.caption(tr("admin.default_limits", tokens=d.daily_tokens or "∞", rpm=d.rpm or "∞"))
    limits = ledger.limits_for(user.user_id)
    with st.form(f"admin_budget_{user.user_id}", border=False):
        tokens = st.number_input(
            tr("admin.tokens_per_day"),
            min_value=0,
            step=10_000,
            value=int(limits.daily_tokens),
            key=f"admin_tok_{user.user_id}",
        )
        rpm = st.number_input(
            tr("admin.rpm"),
            min_value=0,
            step=1,
            value=int(limits.rpm),
            key=f"admin_rpm_{user.user_id}",
        )
        save, default = st.columns(2)
        if save.form_submit_button(tr("admin.save_budget"), icon=":material/save:"):
            _run(lambda: ledger.set_limits(user.user_id, int(tokens), int(rpm)))
            st.rerun()
        if default.form_submit_button(tr("admin.reset_budget")):
            _run(lambda: ledger.set_limits(user.user_id, None, None))
            st.rerun()


def _usage(svc: ChatService, rows: list[Any]) -> None:
    st.subheader(tr("admin.usage"), anchor=False)
    ledger = svc.budget
    data = ledger.usage(days=30) if ledger else []
    if not data:
        st.info(tr("admin.usage_empty"), icon=":material/bar_chart:")
        return
    names = {u.user_id: u.name for u in rows}
    frame = pd.DataFrame(
        {
            "day": [r["day"] for r in data],
            "user": [names.get(r["user_id"], r["user_id"]) for r in data],
            "tokens": [r["input_tokens"] + r["output_tokens"] for r in data],
            "turns": [r["requests"] for r in data],
        }
    )
    st.bar_chart(
        frame,
        x="day",
        y="tokens",
        color="user",
        x_label=tr("admin.day"),
        y_label=tr("admin.tokens"),
    )
    st.dataframe(frame, hide_index=True, width="stretch")


def _shared(svc: ChatService) -> None:
    """Every shared collection, and sharing any owner's collection (an admin may)."""
    kb = svc.knowledge
    if kb is None:
        return
    st.subheader(tr("admin.shared"), anchor=False)
    names = user_names(svc)
    rows = kb.shared_collections()
    if rows:
        table = [
            {
                tr("admin.col.owner"): names.get(c["owner"], c["owner"]),
                tr("admin.col.collection"): c["name"],
                tr("admin.col.documents"): c["documents"],
                tr("admin.col.shared_with"): grantee_text(c["shared_with"], names),
            }
            for c in rows
        ]
        st.table(table)  # a short list, as text (a dataframe is drawn on a canvas)
    else:
        st.caption(tr("admin.shared_empty"))
    every = {c["id"]: c for c in kb.all_collections()}
    if not every:
        return
    picked = st.selectbox(
        tr("admin.share_pick"),
        list(every),
        format_func=lambda cid: (
            f"{names.get(every[cid]['owner'], every[cid]['owner'])} / {every[cid]['name']}"
        ),
        key="admin_share_pick",
    )
    owner_view = kb.for_user(every[picked]["owner"])
    own = next((c for c in owner_view.readable([picked]) if not c["read_only"]), None)
    if own is not None:
        share_box(svc, owner_view, own, st, toast=True)


def page() -> None:
    """The Admin page: users, usage and budgets (admins only)."""
    svc = service()
    me = session_identity()
    if me is None or not me.is_admin or svc.accounts is None:
        st.error(tr("admin.not_allowed"), icon=":material/block:")
        return
    st.title(tr("ui.nav.admin"), anchor=False)
    show_flash()
    st.subheader(tr("admin.users"), anchor=False)
    rows = _users(svc)
    _manage(svc, rows)
    if svc.settings.auth == "password":
        _add_form(svc)
    _usage(svc, rows)
    _shared(svc)
