"""Per-session UI state: the ChatService seam, the user, the language and the open conversation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from agent_app.errors import AppError
from agent_app.i18n import LANGS, normalize_lang, t
from agent_app.i18n import tn as translate_count
from agent_app.service import ChatService
from agent_app.storage.threads import ThreadInfo

if TYPE_CHECKING:
    from agent_app.knowledge.service import KnowledgeService

SERVICE_KEY = "agent_app.service"
"""The injection seam: a ChatService put here (tests, embedding apps) is used instead of the shared one."""
K_LANG, K_THREAD, K_WORKER, K_ACTION = "ui.lang", "ui.thread", "ui.worker", "ui.action"
K_ERRORS, K_PARTIAL = "ui.errors", "ui.partial"
K_IDENTITY = "auth.identity"
"""Set only by the sign-in gate (agent_app.ui.signin) at the start of every run."""


class NotSignedInError(AppError):
    """A page asked who the user is before the sign-in gate ran."""

    kind, key = "not_signed_in", "auth.session_ended"


def _secrets() -> dict[str, Any]:
    try:
        return {key: st.secrets[key] for key in st.secrets}
    except Exception:  # no secrets.toml is the normal local case
        return {}


def _open_shared_service() -> ChatService:
    from agent_app.settings import load_settings
    from agent_app.wiring import open_service

    svc = open_service(load_settings(_secrets()))
    svc.warm(None)  # the first turn's agent is built while the first page renders
    return svc


def service() -> ChatService:
    """The session's ChatService: the injected one, else one shared by all sessions of this server."""
    injected = st.session_state.get(SERVICE_KEY)
    if injected is not None:
        return injected
    return st.cache_resource(show_spinner="agent-app · 正在启动 / starting…")(
        _open_shared_service
    )()


def knowledge(svc: ChatService) -> KnowledgeService | None:
    """The knowledge base as the current user sees it (None when it is not wired)."""
    return svc.knowledge_for(user(svc))


def user(svc: ChatService) -> str:
    """Who is using this session: the identity the sign-in gate set, never a request parameter."""
    identity = st.session_state.get(K_IDENTITY)
    if identity is not None:
        return str(identity.user_id)
    if svc.settings.auth == "none":
        return svc.settings.user
    raise NotSignedInError("no identity in this session")


def lang(svc: ChatService) -> str:
    """The UI language: saved per user, else explicit settings, else the browser's, else the default."""
    if K_LANG not in st.session_state:
        signed_in = svc.settings.auth == "none" or K_IDENTITY in st.session_state
        saved = svc.get_prefs(user(svc)).get("lang") if signed_in else None
        if saved in LANGS:
            st.session_state[K_LANG] = saved
        elif "lang" in svc.settings.model_fields_set or not getattr(st.context, "locale", None):
            st.session_state[K_LANG] = svc.settings.lang
        else:
            st.session_state[K_LANG] = normalize_lang(st.context.locale)
    return st.session_state[K_LANG]


def set_lang(svc: ChatService, code: str) -> None:
    """Switch the UI language and remember it for this user."""
    code = normalize_lang(code)
    st.session_state[K_LANG] = code
    svc.set_prefs(user(svc), lang=code)


def tr(key: str, **params: object) -> str:
    """Translate a UI string into the session's language."""
    return t(key, st.session_state.get(K_LANG, "zh"), **params)


def tn(key: str, count: int, **params: object) -> str:
    """A counted phrase in the session's language ("1 chunk", "2 chunks", "2 个片段")."""
    return translate_count(key, count, st.session_state.get(K_LANG, "zh"), **params)


def open_thread(thread_id: str | None) -> None:
    """Show this conversation (None: a fresh draft) and put it in the URL so reloads keep it."""
    st.session_state[K_THREAD] = thread_id
    if thread_id:
        st.query_params["thread"] = thread_id
    elif "thread" in st.query_params:
        del st.query_params["thread"]


def current_thread(svc: ChatService) -> ThreadInfo | None:
    """The open conversation: this session's choice, the URL's, or the newest one."""
    if K_THREAD in st.session_state:
        wanted = st.session_state[K_THREAD]
    else:
        wanted = st.query_params.get("thread")
        if not wanted:
            newest = svc.list_threads(user(svc))[:1]
            wanted = newest[0].id if newest else None
    info = None
    if wanted:
        try:
            info = svc.get_thread(user(svc), wanted)
        except AppError:  # deleted, mistyped or someone else's: start a draft
            info = None
            if K_THREAD not in st.session_state:  # a link we were given: say it leads nowhere
                st.toast(tr("error.not_found"), icon=":material/search_off:")
    if st.session_state.get(K_THREAD, "") != (info.id if info else None) or (
        info and st.query_params.get("thread") != info.id
    ):
        open_thread(info.id if info else None)
    return info


def bucket(key: str) -> dict[str, Any]:
    """A dict kept in session state (turn metadata, tool durations, errors per thread)."""
    return st.session_state.setdefault(key, {})


def flash(message: str, icon: str = ":material/info:") -> None:
    """A toast for the next run (callbacks and dialogs cannot show one reliably themselves)."""
    st.session_state.setdefault("ui.flash", []).append((message, icon))


def show_flash() -> None:
    """Show the toasts queued before the last rerun."""
    for message, icon in st.session_state.pop("ui.flash", []):
        st.toast(message, icon=icon)
