"""The Chat page: stored history, live turns, approvals and errors — a thin layer over ChatService."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import streamlit as st

from agent_app import events as ev
from agent_app.images import Image
from agent_app.service import ChatService
from agent_app.storage.threads import ThreadInfo
from agent_app.ui import approvals, blocks, chatbox, history, picker, sidebar
from agent_app.ui.live import LiveTurn, TurnOutcome
from agent_app.ui.state import (
    K_ACTION,
    K_ERRORS,
    K_PARTIAL,
    K_WORKER,
    bucket,
    current_thread,
    lang,
    open_thread,
    service,
    show_flash,
    tr,
    user,
)
from agent_app.ui.worker import TurnWorker

EXAMPLES = ("ui.example.calc", "ui.example.time", "ui.example.units")
OFFLINE_EXAMPLES = (
    "ui.example.offline.connect",
    "ui.example.offline.local",
    "ui.example.offline.works",
)
"""Offline the model calls no tool: the suggestions ask what it can answer."""
SETTLE_TIMEOUT_S = 0.5


def _await(worker: TurnWorker) -> None:
    """While a stopped turn winds down, poll it and rerun the page once it has ended."""

    def poll() -> None:
        if not worker.alive:
            st.rerun()
        st.caption(":material/hourglass_top: " + tr("ui.stopping"))

    st.fragment(poll, run_every=0.5)()


def _settle() -> bool:
    """Finish a turn an earlier run left behind (Stop, another click); False while it still winds down."""
    worker: TurnWorker | None = st.session_state.get(K_WORKER)
    if worker is None:
        return True
    left = worker.finish(SETTLE_TIMEOUT_S)
    if left is None:  # the model is finishing its current step; the service will not keep it
        bucket(K_ERRORS)[worker.thread_id] = {
            "kind": "stopped",
            "message": tr("error.stopped"),
            "partial": True,
        }
        return False
    st.session_state.pop(K_WORKER, None)
    outcome = TurnOutcome()
    for event in left:
        outcome.take(event)
    if worker.stop.is_set() and not outcome.done_id:
        # The interrupted page run may already have read the turn's "stopped" event, and only
        # the page knows whether text reached the screen before the stop.
        shown = bool(bucket(K_PARTIAL).get(worker.thread_id))
        if outcome.error is None or (outcome.error.kind == "stopped" and shown):
            outcome.error = ev.Error("stopped", tr("error.stopped"), partial=True)
    outcome.save(worker.thread_id)
    return True


def _run(
    thread_id: str,
    start: Callable[[threading.Event], Iterator[ev.Event]],
    prompt: str = "",
    images: list[Image] | None = None,
) -> None:
    """Show one turn live, keep what it left, then rerun so the page shows the stored result."""
    if prompt:
        with st.chat_message("user"):
            blocks.md(prompt)
            blocks.images([img.data_url() for img in images or []])
    worker = TurnWorker(thread_id, start, st.session_state.get("ui.lang", "zh"))
    st.session_state[K_WORKER] = worker
    bubble = st.chat_message("assistant")
    with st.container(horizontal=True, vertical_alignment="center", key="turn_controls"):
        st.button(tr("ui.stop"), key="stop", icon=":material/stop_circle:", type="tertiary")
        clock = st.empty()
    live, partials = LiveTurn(clock), bucket(K_PARTIAL)
    try:
        with bubble:
            outcome = live.run(worker)
    except BaseException:  # Stop, another click or a closed tab: end the turn in the background
        worker.stop.set()  # (no st.* here: during a stop even session_state access raises again)
        if live.answer:
            partials[thread_id] = live.answer
        raise
    st.session_state.pop(K_WORKER, None)
    outcome.save(thread_id)
    st.rerun()


def _act(
    svc: ChatService,
    sent: chatbox.Submission,
    action: dict[str, Any] | None,
    welcome: Any,
) -> None:
    """Start the turn asked for: a new message (with its images), a retry or a resume."""
    info, prompt, images = sent.info, sent.prompt, sent.images
    who, code = user(svc), lang(svc)
    if action and action.get("type") == "prompt":
        prompt = action["text"]
    prompt = prompt if prompt and prompt.strip() else None  # blank input: nothing to send
    if prompt or action:
        welcome.empty()
    if prompt:
        problem = svc.check_input(prompt, code)
        if problem is not None:  # nothing is stored; the text goes back into the box
            chatbox.refuse(prompt, problem.message)
        if info is None:
            info = svc.new_thread(who)
            open_thread(info.id)
        tid = info.id
        _run(
            tid,
            lambda stop: svc.stream(tid, prompt, user_id=who, stop=stop, lang=code, images=images),
            prompt,
            images,
        )
    elif action and info is not None and action.get("thread") == info.id:
        tid = info.id
        if action["type"] == "retry":
            _run(tid, lambda stop: svc.retry(tid, user_id=who, stop=stop, lang=code))
        elif action["type"] == "regenerate":
            _run(tid, lambda stop: svc.regenerate(tid, user_id=who, stop=stop, lang=code))
        elif action["type"] == "edit":
            text, mid = action["text"], action["message"]
            _run(
                tid,
                lambda stop: svc.edit_and_resend(tid, mid, text, user_id=who, stop=stop, lang=code),
                text,
            )
        elif action["type"] == "resume":
            _run(tid, lambda stop: svc.resume(tid, action["decisions"], user_id=who, lang=code))


def _shown(messages: list[dict[str, Any]], action: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The stored messages the page shows above a turn being redone (regenerate, edit)."""
    kind = (action or {}).get("type")
    if kind == "regenerate":
        last = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
        return messages if last is None else messages[: last + 1]
    if kind == "edit":
        at = next((i for i, m in enumerate(messages) if m["id"] == action["message"]), None)  # type: ignore[index]
        return messages if at is None else messages[:at]
    return messages


def _retry(thread_id: str) -> Callable[[], None]:
    return lambda: st.session_state.update({K_ACTION: {"type": "retry", "thread": thread_id}})


def _error(err: dict[str, Any], thread_id: str, ready: bool) -> None:
    """A failure the service did not store with the turn (input dropped, a stop still winding down)."""
    show = st.warning if err["kind"] in blocks.SOFT_ERRORS else st.error
    with st.chat_message("assistant"):
        partial = bucket(K_PARTIAL).get(thread_id) if err.get("partial") else None
        if partial:
            blocks.md(partial)
            st.caption(":material/warning: " + tr("ui.partial_not_saved"))
        show(err["message"], icon=":material/error:")
        if err["kind"] in blocks.RETRYABLE and ready:
            blocks.retry_button(_retry(thread_id))


def _welcome(offline: bool) -> None:
    examples = OFFLINE_EXAMPLES if offline else EXAMPLES
    with st.container(key="welcome"):
        st.markdown(f"### {tr('ui.welcome')}")
        st.caption(tr("ui.welcome_hint_offline" if offline else "ui.welcome_hint"))
        cols = st.columns(len(examples))
        for col, key in zip(cols, examples, strict=True):
            col.button(
                tr(key),
                key=f"example_{key}",
                width="stretch",
                on_click=lambda text=tr(key): st.session_state.update(
                    {K_ACTION: {"type": "prompt", "text": text}}
                ),
            )


def _header(svc: ChatService, info: ThreadInfo | None) -> None:
    left, right = st.columns([3, 2], vertical_alignment="center")
    left.markdown(f"#### {sidebar.title_of(info)}")
    with right, st.container(horizontal=True, horizontal_alignment="right"):
        picker.render(svc, info)


def page() -> None:
    """Render the Chat page."""
    svc = service()
    show_flash()
    ready = _settle()
    info = current_thread(svc)
    warmed = f"ui.warmed.{info.id if info else ''}"
    if warmed not in st.session_state:  # this conversation's agent, in the UI's language
        st.session_state[warmed] = svc.warm(info, lang(svc))
    sidebar.render(svc, info)
    if info is not None:
        sidebar.watch_title(svc, info.id)
    if svc.settings.resolved_provider == "offline" and not svc.settings.backend:  # server's model
        st.info(tr("notice.offline"), icon=":material/cloud_off:")
    _header(svc, info)
    who = user(svc)
    action = st.session_state.pop(K_ACTION, None)
    messages = _shown(svc.messages(who, info.id) if info else [], action)
    welcome = st.empty()
    pending = svc.pending_approvals(who, info.id) if info else []
    marked = False
    if messages and info is not None:
        retry = _retry(info.id) if ready and not pending else None
        marked = history.render(
            messages,
            info.id,
            waiting=bool(pending),
            retry=retry,
            actions=svc if ready and not pending else None,
        )
    else:
        with welcome.container():
            _welcome(svc.thread_options(info).provider == "offline" and not svc.settings.backend)
    if pending and info is not None:
        approvals.render(info.id, pending)
    error = bucket(K_ERRORS).get(info.id) if info else None
    if error and not pending and not marked and info is not None:
        _error(error, info.id, ready)
    if not ready:
        _await(st.session_state[K_WORKER])
    chatbox.restore(svc)
    hint = tr("ui.approval.first") if pending else tr("ui.input")
    # No max_chars: the browser would cut a long paste silently; the service's limit says why.
    value = st.chat_input(
        hint,
        key=chatbox.BOX,
        disabled=bool(pending) or not ready,
        accept_file="multiple",
        file_type=chatbox.file_types(svc),
        accept_audio=svc.can_transcribe(),
    )
    _act(svc, chatbox.take(svc, info, value), action, welcome)
