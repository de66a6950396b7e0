"""Stop: the user's stop request, checked on every streamed token of the turn's model calls."""

from __future__ import annotations

import threading
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from agent_app.errors import StopRequestedError


class StopSignal(BaseCallbackHandler):
    """Passed in the run's callbacks; the next token after `stop` is set ends the model's stream.

    Raising from the callback (``raise_error``) is what interrupts a provider's stream mid-answer;
    checking between graph steps alone would wait for the whole model call.
    """

    raise_error = True
    # Only tokens matter: skip the callback manager's dispatch for every other run of the graph.
    ignore_chain = ignore_agent = ignore_retriever = ignore_retry = ignore_custom_event = True

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.event = stop or threading.Event()

    def set(self) -> None:
        """Ask the running turn to stop at its next token."""
        self.event.set()

    def is_set(self) -> bool:
        """Whether the user asked to stop."""
        return self.event.is_set()

    def on_llm_new_token(self, token: Any, **kwargs: Any) -> None:
        """End the model's stream at the first token after a stop request."""
        if self.event.is_set():
            raise StopRequestedError("stopped by the user")
