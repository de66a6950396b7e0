"""The Streamlit app: page setup, navigation (Chat, Knowledge, Memory, Settings) and the language switch."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from agent_app.errors import AppError
from agent_app.ui import theme
from agent_app.ui.state import K_LANG, lang, service, set_lang, tr

log = logging.getLogger(__name__)
LANG_NAMES = {"zh": "中文", "en": "English"}
FAVICON = Path(__file__).parent / "static" / "favicon.svg"
"""Shipped with the app: a `:material/…:` icon would make the browser fetch it from a font host."""
ASSETS = Path(__file__).resolve().parent / "static"


def _language_switch() -> None:
    svc = service()
    with st.sidebar, st.container(key="lang_box"):
        st.segmented_control(
            tr("ui.language"),
            list(LANG_NAMES),
            format_func=lambda code: LANG_NAMES[code],
            key="lang_switch",
            default=lang(svc),
            required=True,
            label_visibility="collapsed",
            on_change=lambda: set_lang(svc, st.session_state["lang_switch"]),
        )


def main() -> None:
    """Build the navigation and run the chosen page."""
    from agent_app.ui import signin
    from agent_app.ui.pages import admin, chat, knowledge, memory, settings

    st.set_page_config(page_title="agent-app", page_icon=str(FAVICON), layout="centered")
    theme.apply()
    st.logo(str(ASSETS / "logo.svg"), icon_image=str(ASSETS / "icon.svg"), size="large")
    try:
        lang(service())
    except AppError as exc:  # one we can name (the database refused the password, …): say which
        log.error("cannot open the chat service: %s", exc)  # masked URL, no traceback
        st.error(exc.user_message(st.session_state.get(K_LANG, "zh")), icon=":material/report:")
        st.stop()
    except Exception:  # the data directory or configuration is unusable: say so, no traceback
        log.exception("cannot open the chat service")
        st.error(tr("ui.start_failed"), icon=":material/report:")
        st.stop()
    identity = signin.gate(service())  # nothing below runs for a visitor who is not signed in
    pages = [
        st.Page(
            chat.page,
            title=tr("ui.nav.chat"),
            icon=":material/chat:",
            url_path="chat",
            default=True,
        ),
        st.Page(
            knowledge.page,
            title=tr("ui.nav.knowledge"),
            icon=":material/library_books:",
            url_path="knowledge",
        ),
        st.Page(
            memory.page, title=tr("ui.nav.memory"), icon=":material/neurology:", url_path="memory"
        ),
        st.Page(
            settings.page,
            title=tr("ui.nav.settings"),
            icon=":material/settings:",
            url_path="settings",
        ),
    ]
    if identity.is_admin and service().accounts is not None:
        pages.append(
            st.Page(
                admin.page,
                title=tr("ui.nav.admin"),
                icon=":material/shield_person:",
                url_path="admin",
            )
        )
    nav = st.navigation(pages)
    _language_switch()
    signin.account_box(service(), identity)
    nav.run()
