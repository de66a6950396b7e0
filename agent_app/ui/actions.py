"""Actions under chat messages: copy, read aloud, thumbs, regenerate with versions, edit and resend."""

from __future__ import annotations

from typing import Any

import streamlit as st

from agent_app.errors import AppError
from agent_app.service import ChatService
from agent_app.ui.state import K_ACTION, lang, tr, user

FEEDBACK = ("down", "up")
"""st.feedback's thumbs: index 0 is down, 1 is up."""
K_SPOKEN = "ui.spoken"
"""The answer last read aloud: its id and recording, or why it could not be (one kept at a time)."""


def _copy(key: str, text: str) -> None:
    """The text as a code block in a popover: its own copy button copies it verbatim."""
    with st.popover(
        "", icon=":material/content_copy:", help=tr("ui.copy"), type="tertiary", key=key
    ):
        st.caption(tr("ui.copy_hint"))
        st.code(text, language="markdown", wrap_lines=True)


def _read_aloud(svc: ChatService, message_id: str, text: str) -> None:
    """Speak the answer (in a callback, so the player shows on the rerun that follows)."""
    try:
        audio, cut = svc.read_aloud(text, lang(svc))
    except AppError as err:
        st.session_state[K_SPOKEN] = {"id": message_id, "error": err.user_message(lang(svc))}
        return
    st.session_state[K_SPOKEN] = {"id": message_id, "audio": audio, "cut": cut}


def _player(message_id: str) -> None:
    spoken = st.session_state.get(K_SPOKEN) or {}
    if spoken.get("id") != message_id:
        return
    if spoken.get("error"):
        st.warning(spoken["error"], icon=":material/volume_off:")
        return
    st.audio(spoken["audio"], format="audio/wav", autoplay=True)
    if spoken.get("cut"):
        st.caption(tr("ui.read_aloud_part"))


def _feedback(svc: ChatService, thread_id: str, message_id: str, notes: dict[str, Any]) -> None:
    key = f"feedback_{message_id}"
    stored = notes.get("feedback")

    def save() -> None:
        picked = st.session_state.get(key)
        svc.set_feedback(
            user(svc), thread_id, message_id, None if picked is None else FEEDBACK[picked]
        )

    st.feedback(
        "thumbs",
        key=key,
        default=FEEDBACK.index(stored) if stored in FEEDBACK else None,
        on_change=save,
    )


def _versions(svc: ChatService, thread_id: str, asked: dict[str, Any]) -> None:
    info = asked.get("versions")
    if not info or info["count"] < 2:
        return
    active, count = min(info["active"], info["count"] - 1), info["count"]

    def flip(index: int) -> None:
        svc.show_version(user(svc), thread_id, asked["id"], index)

    st.button(
        "",
        icon=":material/chevron_left:",
        key=f"ver_prev_{asked['id']}",
        help=tr("ui.version_prev"),
        type="tertiary",
        disabled=active == 0,
        on_click=flip,
        args=(active - 1,),
    )
    st.caption(tr("ui.version", active=active + 1, count=count))
    st.button(
        "",
        icon=":material/chevron_right:",
        key=f"ver_next_{asked['id']}",
        help=tr("ui.version_next"),
        type="tertiary",
        disabled=active >= count - 1,
        on_click=flip,
        args=(active + 1,),
    )


def answer_row(
    svc: ChatService,
    thread_id: str,
    asked: dict[str, Any] | None,
    answer: dict[str, Any],
    text: str,
    last: bool,
) -> None:
    """Under an answer: copy, thumbs; on the last one also regenerate and its versions."""
    with st.container(
        horizontal=True, vertical_alignment="center", gap="small", key=f"actions_{answer['id']}"
    ):
        if text:
            _copy(f"copy_{answer['id']}", text)
        if text and svc.can_read_aloud():
            st.button(
                "",
                icon=":material/volume_up:",
                key=f"speak_{answer['id']}",
                help=tr("ui.read_aloud"),
                type="tertiary",
                on_click=_read_aloud,
                args=(svc, str(answer["id"]), text),
            )
        _feedback(svc, thread_id, str(answer["id"]), answer.get("notes") or {})
        if last:
            st.button(
                "",
                icon=":material/refresh:",
                key=f"regenerate_{thread_id}",
                help=tr("ui.regenerate"),
                type="tertiary",
                on_click=lambda: st.session_state.update(
                    {K_ACTION: {"type": "regenerate", "thread": thread_id}}
                ),
            )
            if asked is not None:
                _versions(svc, thread_id, asked)
    _player(str(answer["id"]))


def question_row(thread_id: str, asked: dict[str, Any]) -> None:
    """Under a user message: edit it and send it again (the conversation continues from there)."""
    key = f"edit_{asked['id']}"
    with st.container(horizontal=True, horizontal_alignment="right", key=f"qactions_{asked['id']}"):
        with st.popover("", icon=":material/edit:", help=tr("ui.edit"), type="tertiary", key=key):
            st.caption(tr("ui.edit_hint"))
            st.text_area(
                tr("ui.edit"), value=asked["text"], key=f"{key}_text", label_visibility="collapsed"
            )

            def send() -> None:
                text = st.session_state.get(f"{key}_text", "")
                st.session_state[K_ACTION] = {
                    "type": "edit",
                    "thread": thread_id,
                    "message": asked["id"],
                    "text": text,
                }

            st.button(
                tr("ui.edit_send"),
                key=f"{key}_send",
                icon=":material/send:",
                type="primary",
                on_click=send,
            )
