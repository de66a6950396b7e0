"""The live turn: tokens re-rendered into one placeholder, tool steps in st.status while they run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from agent_app import events as ev
from agent_app.transcript import tool_outcome
from agent_app.ui import blocks
from agent_app.ui.render import LiveMarkdown, sanitize_markdown
from agent_app.ui.state import K_ERRORS, K_PARTIAL, bucket, tr
from agent_app.ui.worker import TurnWorker


@dataclass
class TurnOutcome:
    """What one turn left behind for the page: an error, a pause (its notes are stored with it)."""

    error: ev.Error | None = None
    done_id: str = ""
    paused: bool = False

    def take(self, event: ev.Event) -> None:
        """Note how the turn ended."""
        if isinstance(event, ev.Error):
            self.error = event
        elif isinstance(event, ev.Done):
            self.done_id = event.message_id
        elif isinstance(event, ev.ApprovalRequired):
            self.paused = True

    def save(self, thread_id: str) -> None:
        """Keep the error for the next reruns (the service stored the turn's notes and failure mark)."""
        errors = bucket(K_ERRORS)
        if self.error is not None:
            errors[thread_id] = {
                "kind": self.error.kind,
                "message": self.error.message,
                "partial": self.error.partial,
            }
        else:
            errors.pop(thread_id, None)
        if self.error is None or not self.error.partial:
            bucket(K_PARTIAL).pop(thread_id, None)


class LiveTurn:
    """Renders one running turn inside the assistant bubble; `clock` shows the elapsed time."""

    def __init__(self, clock: Any) -> None:
        self.outcome = TurnOutcome()
        self.clock = clock
        self.started = time.monotonic()
        self._shown_second = -1
        self._tools: dict[str, tuple[Any, float, str]] = {}
        self._thinking: Any = None
        self._plan_box: Any = None
        self._reasoning = ""
        self.answer = ""
        """The raw answer text seen so far (kept on screen, unsaved, when a turn is stopped)."""

    def run(self, worker: TurnWorker) -> TurnOutcome:
        """Show the worker's events in the current container until the turn ends."""
        text: LiveMarkdown | None = None  # the answer text since the last inline block
        for event in worker.events(on_idle=self._tick):
            self._tick()
            if isinstance(event, ev.Token):
                self.answer += event.text
                text = text or LiveMarkdown(st.empty())
                text.add(event.text)
                continue
            self.outcome.take(event)
            block = self._block(event)
            if block is not None:
                if text is not None:
                    text.flush()
                text = None  # text after the block goes below it
                block()
        if text is not None:
            text.flush()
        for box, _, _ in self._tools.values():  # a tool that never reported back (stopped turn)
            box.update(state="error")
        return self.outcome

    def _block(self, event: ev.Event) -> Callable[[], None] | None:
        if isinstance(event, ev.ToolStart):
            return lambda: self._tool_start(event)
        if isinstance(event, ev.ToolEnd) and event.call_id in self._tools:
            return lambda: self._tool_end(event)
        if isinstance(event, ev.Reasoning):
            return lambda: self._think(event.text)
        if isinstance(event, ev.ApprovalRequired):
            return lambda: self._waiting(event.name)
        if isinstance(event, ev.Plan):
            return lambda: self._plan(event.todos)
        return None

    def _plan(self, todos: list[dict[str, Any]]) -> None:
        """The visible plan, one placeholder updated in place as steps complete."""
        if self._plan_box is None:
            self._plan_box = st.empty()
        marks = {"completed": ":material/check_circle:", "in_progress": ":material/pending:"}
        lines = [
            f"- {marks.get(str(t.get('status')), ':material/radio_button_unchecked:')} "
            f"{sanitize_markdown(str(t.get('content', '')))}"
            for t in todos
        ]
        self._plan_box.markdown(f"**{tr('ui.plan')}**\n\n" + "\n".join(lines))

    @staticmethod
    def _waiting(name: str) -> None:
        st.info(tr("ui.approval.waiting", name=f"`{name}`"), icon=":material/front_hand:")

    def _tool_start(self, event: ev.ToolStart) -> None:
        box = st.status(blocks.tool_label(event.name, "running"), state="running", expanded=True)
        with box:
            blocks.tool_args(event.args)
        self._tools[event.call_id] = (box, time.monotonic(), event.name)

    def _tool_end(self, event: ev.ToolEnd) -> None:
        box, started, name = self._tools.pop(event.call_id)
        took = event.duration_ms or (time.monotonic() - started) * 1000
        outcome, text = tool_outcome(event.output, "error" if event.error else "success")
        with box:
            blocks.tool_result(text, outcome)
        box.update(
            label=blocks.tool_label(name, outcome, took),
            state=blocks.status_state(outcome),
            expanded=False,
        )

    def _think(self, piece: str) -> None:
        if self._thinking is None:
            with st.expander(tr("ui.thinking"), icon=":material/psychology:", expanded=False):
                self._thinking = st.empty()
        self._reasoning += piece
        self._thinking.markdown(sanitize_markdown(self._reasoning))

    def _tick(self) -> None:
        """Show the elapsed seconds; every update is also a point where a Stop click lands."""
        second = int(time.monotonic() - self.started)
        if second != self._shown_second:
            self._shown_second = second
            self.clock.caption(tr("ui.elapsed", seconds=second))
