"""The Streamlit app: a minimal chat page over ChatService (full UI lands with its own issue)."""

from __future__ import annotations

import streamlit as st

from agent_app import events as ev
from agent_app.i18n import t


@st.cache_resource
def _service():
    from agent_app.app import open_service
    from agent_app.settings import load_settings

    try:
        secrets = dict(st.secrets)
    except Exception:  # no secrets.toml is the normal local case
        secrets = {}
    return open_service(load_settings(secrets))


def main() -> None:
    st.set_page_config(page_title="agent-app", page_icon="💬")
    svc = _service()
    lang = svc.settings.lang
    if svc.settings.resolved_provider == "offline":
        st.info(t("notice.offline", lang))
    user = svc.settings.user
    if "thread_id" not in st.session_state:
        threads = svc.list_threads(user)
        st.session_state.thread_id = threads[0].id if threads else svc.new_thread(user).id
    thread_id = st.session_state.thread_id
    for msg in svc.messages(user, thread_id):
        if msg["role"] in ("user", "assistant") and msg["text"]:
            st.chat_message(msg["role"]).markdown(msg["text"])
    if prompt := st.chat_input("…"):
        st.chat_message("user").text(prompt)
        with st.chat_message("assistant"):
            errors: list[ev.Error] = []

            def tokens():
                for event in svc.stream(thread_id, prompt, user_id=user, lang=lang):
                    if isinstance(event, ev.Token):
                        yield event.text
                    elif isinstance(event, ev.Error):
                        errors.append(event)

            st.write_stream(tokens())
            for err in errors:
                st.error(err.message)
