"""Files dropped on the chat box: into the conversation's own collection, then the message is sent."""

from __future__ import annotations

import streamlit as st

from agent_app.errors import AppError
from agent_app.service import ChatService
from agent_app.storage.threads import ThreadInfo
from agent_app.ui.state import flash, lang, open_thread, tr, user


def attach(
    svc: ChatService, info: ThreadInfo | None, text: str, files: list[tuple[str, bytes]]
) -> tuple[ThreadInfo, str]:
    """Index the files (name, bytes) for this conversation; the message to send ('' for none)."""
    who, code = user(svc), lang(svc)
    if info is None:
        info = svc.new_thread(who)
        open_thread(info.id)
    with st.spinner(tr("ui.attaching")):
        try:
            results = svc.attach(who, info.id, files, code)
        except AppError:
            st.error(tr("ui.attach_unavailable"), icon=":material/error:")
            return info, text.strip()
    added = []
    for result in results:
        if result.status in ("ready", "unchanged"):
            added.append(result.file)
            flash(
                tr("ui.attached", name=result.file, chunks=result.chunks), ":material/attach_file:"
            )
        else:
            flash(
                tr("ui.attach_failed", name=result.file, reason=result.reason or ""),
                ":material/error:",
            )
    if added and text.strip():
        text = f"{text.rstrip()}\n\n{tr('chat.attached_note', names=', '.join(added))}"
    return info, text
