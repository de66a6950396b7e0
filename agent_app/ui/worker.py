"""TurnWorker: runs one turn's event stream on its own thread so the page can stop or leave it."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator

from agent_app import events as ev
from agent_app.i18n import t

log = logging.getLogger(__name__)
_END = object()
StartTurn = Callable[[threading.Event], Iterator[ev.Event]]


class TurnWorker:
    """Pulls a service event stream in a daemon thread; the page reads events from a queue.

    The stream is created and consumed on the worker thread only, so when the page run is
    interrupted (a Stop click, another widget, a closed tab) setting `stop` lets the service
    end the turn cleanly — repairing the thread — while the page is already rerunning.
    """

    def __init__(self, thread_id: str, start: StartTurn, lang: str) -> None:
        self.thread_id, self.lang = thread_id, lang
        self.stop = threading.Event()
        self._start = start
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"turn-{thread_id[:8]}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for event in self._start(self.stop):
                self._queue.put(event)
        except Exception:  # the service turns failures into events; this is the last guard
            log.exception("turn worker failed")
            self._queue.put(ev.Error("internal", t("error.internal", self.lang)))
        finally:
            self._queue.put(_END)

    def events(
        self, poll_s: float = 0.25, on_idle: Callable[[], None] | None = None
    ) -> Iterator[ev.Event]:
        """Events as they arrive; `on_idle` runs while waiting (a chance for the page to be stopped)."""
        while True:
            try:
                item = self._queue.get(timeout=poll_s)
            except queue.Empty:
                if on_idle is not None:
                    on_idle()
                continue
            if item is _END:
                return
            yield item  # type: ignore[misc]

    def finish(self, timeout_s: float) -> list[ev.Event] | None:
        """Stop the turn and wait for it; the events nobody read, or None if it is still running."""
        self.stop.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            return None
        left: list[ev.Event] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return left
            if item is _END:
                return left
            left.append(item)  # type: ignore[arg-type]  # only events and _END are queued

    @property
    def alive(self) -> bool:
        """Whether the turn's thread is still running."""
        return self._thread.is_alive()
