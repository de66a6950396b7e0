"""The sign-in gate: who this browser session is, decided once per run, before any page renders."""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from agent_app.auth import Identity, local_identity
from agent_app.auth.exposure import open_exposure, refusal_message
from agent_app.auth.oidc import oidc_user
from agent_app.auth.proxy import client_address, header_user
from agent_app.datadir import ephemeral_reason
from agent_app.service import ChatService
from agent_app.ui import session_cookie
from agent_app.ui.render import sanitize_markdown
from agent_app.ui.state import K_IDENTITY, K_LANG, SERVICE_KEY, tr

log = logging.getLogger(__name__)
K_TOKEN, K_ENDED = "auth.token", "auth.ended"
K_COOKIE, K_SIGNED_OUT = "auth.cookie", "auth.signed_out"
"""The token this tab's cookie was last set to; this tab signed out (its old cookie is void)."""
KEPT = (SERVICE_KEY, K_LANG)  # the injection seam and the page language survive


def session_identity() -> Identity | None:
    """The identity the gate set for this run (the only source of the user id)."""
    value = st.session_state.get(K_IDENTITY)
    return value if isinstance(value, Identity) else None


def gate(svc: ChatService) -> Identity:
    """Return who is signed in, or render the sign-in page and stop the run."""
    settings = svc.settings
    exposure = open_exposure(settings, st.get_option("server.address"))
    if exposure == "refuse":
        log.error(refusal_message(st.get_option("server.address")))
        st.error(tr("auth.refused"), icon=":material/lock:")
        st.stop()
    identity = _resolve(svc)
    if identity is None:
        st.session_state.pop(K_IDENTITY, None)
        st.stop()
    st.session_state[K_IDENTITY] = identity
    if exposure == "open":
        st.warning(tr("auth.open"), icon=":material/lock_open:")
    reason = ephemeral_reason(settings.data_dir)
    if reason:
        st.warning(tr("ui.data_ephemeral", reason=reason), icon=":material/cloud_off:")
    return identity


def _resolve(svc: ChatService) -> Identity | None:
    mode = svc.settings.auth
    if mode == "none":
        return local_identity(svc.settings)
    if svc.accounts is None:
        st.error(tr("ui.start_failed"), icon=":material/report:")
        return None
    if mode == "password":
        return _password(svc)
    if mode == "oidc":
        return _oidc(svc)
    return _header(svc)


def _password(svc: ChatService) -> Identity | None:
    accounts = svc.accounts
    assert accounts is not None
    token = st.session_state.get(K_TOKEN)
    if token is None and not st.session_state.get(K_SIGNED_OUT):
        token = session_cookie.read_token()  # a reload or a new tab: the session it had
    identity = accounts.session(token)
    if identity is not None and token:
        st.session_state[K_TOKEN] = token
        if st.session_state.get(K_COOKIE) != token and session_cookie.read_token() != token:
            session_cookie.remember(token, svc.settings.session_hours)
        st.session_state[K_COOKIE] = token
        return identity
    if token:  # expired, disabled or reset since the last action: this session is over
        forget_session()
        st.session_state[K_ENDED] = True
        st.session_state[K_SIGNED_OUT] = True  # the cookie still names it: never try it again
        session_cookie.forget()
    elif st.session_state.get(K_SIGNED_OUT) and session_cookie.read_token():
        session_cookie.forget()
    _password_form(svc)
    return None


def _password_form(svc: ChatService) -> None:
    st.title(tr("auth.title"))
    if st.session_state.pop(K_ENDED, False):
        st.info(tr("auth.session_ended"), icon=":material/logout:")
    with st.form("signin", clear_on_submit=False, border=True):
        name = st.text_input(tr("auth.name"), key="signin_name", autocomplete="username")
        password = st.text_input(
            tr("auth.password"),
            type="password",
            key="signin_password",
            autocomplete="current-password",
        )
        submitted = st.form_submit_button(tr("auth.submit"), type="primary")
    if not submitted:
        return
    accounts = svc.accounts
    assert accounts is not None
    ip = st.context.ip_address  # None on loopback; not a string without a browser (AppTest)
    peer = client_address(
        dict(st.context.headers), ip if isinstance(ip, str) else None, svc.settings
    )
    result = accounts.authenticate(name, password, peer=peer)
    if result.status == "ok":
        st.session_state[K_TOKEN] = result.token
        st.session_state.pop(K_SIGNED_OUT, None)
        st.session_state.pop(K_LANG, None)  # the user's own saved language loads next
        st.rerun()
    elif result.status == "locked":
        st.error(
            tr("auth.locked", minutes=max(1, round(result.retry_after_s / 60))),
            icon=":material/lock_clock:",
        )
    else:
        st.error(tr("auth.invalid"), icon=":material/error:")


def _oidc(svc: ChatService) -> Identity | None:
    accounts = svc.accounts
    assert accounts is not None
    claims: dict[str, Any] = st.user.to_dict()
    found = oidc_user(claims)
    if found is None:
        st.title(tr("auth.title"))
        st.write(tr("auth.sso"))
        provider = svc.settings.oidc_provider
        st.button(
            tr("auth.submit"),
            type="primary",
            key="signin_sso",
            on_click=st.login,
            args=(provider,) if provider else (),
        )
        return None
    identity = accounts.external(found[0], found[1], "oidc")
    if identity is None:
        st.error(tr("auth.disabled"), icon=":material/block:")
        st.button(tr("auth.sign_out"), key="signin_sso_out", on_click=st.logout)
    return identity


def _header(svc: ChatService) -> Identity | None:
    accounts = svc.accounts
    assert accounts is not None
    name = header_user(dict(st.context.headers), st.context.ip_address, svc.settings)
    if name is None:
        st.error(tr("auth.header_missing"), icon=":material/lock:")
        return None
    identity = accounts.external(name, name, "header")
    if identity is None:
        st.error(tr("auth.disabled"), icon=":material/block:")
    return identity


def forget_session() -> None:
    """Drop everything this browser session knew about its user (conversation, language, caches)."""
    for key in list(st.session_state):
        if key not in KEPT:
            del st.session_state[key]


def sign_out(svc: ChatService) -> None:
    """End this session (the account's other sessions stay signed in); the next run drops the cookie."""
    if svc.settings.auth == "password" and svc.accounts is not None:
        svc.accounts.end_session(st.session_state.get(K_TOKEN))
    forget_session()
    st.session_state[K_SIGNED_OUT] = True
    if svc.settings.auth == "oidc":
        st.logout()


def account_box(svc: ChatService, identity: Identity) -> None:
    """Who is signed in, and the sign-out button, at the bottom of the sidebar."""
    if svc.settings.auth == "none":
        return
    with st.sidebar, st.container(key="account_box"):
        st.caption(
            tr(
                "auth.signed_in_as",
                name=sanitize_markdown(identity.name),
                user_id=identity.user_id.replace("`", ""),
            )
        )
        if svc.settings.auth != "header":
            st.button(
                tr("auth.sign_out"),
                key="sign_out",
                icon=":material/logout:",
                on_click=sign_out,
                args=(svc,),
                type="tertiary",
            )
