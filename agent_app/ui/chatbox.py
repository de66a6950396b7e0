"""What the chat box hands in: documents attached, images prepared, a recording put back as text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

import streamlit as st
from streamlit.elements.widgets.chat import ChatInputValue
from streamlit.runtime.uploaded_file_manager import UploadedFile

from agent_app.errors import AppError
from agent_app.images import EXTENSIONS, Image, is_image_file
from agent_app.service import ChatService
from agent_app.storage.threads import ThreadInfo
from agent_app.ui.attach import attach
from agent_app.ui.state import lang, tr

BOX = "chat_input"
K_DRAFT = "ui.draft"
"""Text for the chat box on the next run (a refused message, a transcript), with why."""
K_RECORDING = "ui.recording"
"""A recording whose transcription failed for a passing reason: kept to try again."""
K_HELD = "ui.held_images"
"""Images dropped together with a recording: they go with the message once it is sent."""


@dataclass
class Submission:
    """A message ready for the turn: its conversation, text and images."""

    info: ThreadInfo | None
    prompt: str | None
    images: list[Image] = field(default_factory=list)


def file_types(svc: ChatService) -> list[str]:
    """What the chat box takes: the attachable documents and images."""
    return sorted({*svc.attachment_types(), *EXTENSIONS})


def refuse(text: str, message: str) -> NoReturn:
    """Nothing was sent: the text goes back into the box with why, on the next run."""
    st.session_state[K_DRAFT] = {"text": text, "message": message}
    st.rerun()
    raise AssertionError("st.rerun returns only in a callback")


def restore(svc: ChatService) -> None:
    """Before the box is drawn: put back a refused message or a transcript, editable, not sent."""
    draft = st.session_state.pop(K_DRAFT, None)
    if draft:
        if draft.get("message"):
            st.error(draft["message"], icon=":material/error:")
        if draft.get("notice"):
            st.info(draft["notice"], icon=":material/mic:")
        st.session_state[BOX] = draft["text"]
    if st.session_state.get(K_RECORDING):
        with st.container(horizontal=True, key="recording_kept"):
            st.caption(":material/mic: " + tr("ui.recording_kept"))
            st.button(
                tr("ui.transcribe_again"), key="transcribe_again", on_click=_again, args=(svc,)
            )
            st.button(
                tr("ui.discard"),
                key="discard_recording",
                type="tertiary",
                on_click=lambda: st.session_state.pop(K_RECORDING, None),
            )
    held = st.session_state.get(K_HELD)
    if held:
        with st.container(horizontal=True, key="images_held"):
            st.caption(":material/image: " + tr("ui.images_held", count=len(held)))
            st.button(
                tr("ui.discard"),
                key="discard_images",
                type="tertiary",
                on_click=lambda: st.session_state.pop(K_HELD, None),
            )


def take(svc: ChatService, info: ThreadInfo | None, value: Any) -> Submission:
    """Read what the box sent; a recording is transcribed into the box and nothing is sent yet."""
    if not isinstance(value, ChatInputValue):
        return Submission(info, value)
    text = value.text or ""
    files = [(f.name, f.getvalue()) for f in value.files or []]
    audio = value.get("audio")  # there only when the box accepts recordings
    recording = audio if isinstance(audio, UploadedFile) else None
    pictures = [f for f in files if is_image_file(*f)]
    documents = [f for f in files if f not in pictures]
    if documents:
        info, text = attach(svc, info, text, documents)
        if not text.strip() and not pictures and recording is None:
            st.rerun()  # attached only: the toasts say so, nothing to answer yet
    if recording is not None:
        if pictures:
            st.session_state[K_HELD] = [*st.session_state.get(K_HELD, []), *pictures]
        _transcribe(svc, recording.getvalue(), text)
        st.rerun()
    pictures = [*st.session_state.pop(K_HELD, []), *pictures]
    if not pictures:
        return Submission(info, text)
    try:
        images = svc.prepare_images(info, [raw for _, raw in pictures])
    except AppError as err:
        refuse(text, err.user_message(lang(svc)))
    return Submission(info, text.strip() or tr("chat.image_only"), images)


def _transcribe(svc: ChatService, raw: bytes, typed: str) -> None:
    """The transcript after what was typed, for the next run's box; or why not, the typing kept."""
    st.session_state.pop(K_RECORDING, None)
    try:
        heard = svc.transcribe(raw)
    except AppError as err:
        if err.key == "error.speech_failed":  # the service failed, not the recording
            st.session_state[K_RECORDING] = {"audio": raw, "text": typed}
        st.session_state[K_DRAFT] = {"text": typed, "message": err.user_message(lang(svc))}
        return
    text = f"{typed.rstrip()}\n\n{heard}" if typed.strip() else heard
    st.session_state[K_DRAFT] = {"text": text, "notice": tr("ui.transcript_ready")}


def _again(svc: ChatService) -> None:
    kept = st.session_state.get(K_RECORDING)
    if kept:
        _transcribe(svc, kept["audio"], kept["text"])
