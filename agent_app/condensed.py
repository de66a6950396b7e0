"""The turns a summary replaced in a thread, kept so the page still shows them (JSON, never pickled)."""

from __future__ import annotations

import time

from langchain_core.messages import AnyMessage, BaseMessage, messages_from_dict, messages_to_dict

from agent_app.storage.threads import ThreadRegistry

PREFIX = "condensed:"
"""Turn-note key of one batch of condensed messages, ordered by when it was condensed."""


class CondensedTurns:
    """Batches of condensed messages per conversation, in the registry's turn notes."""

    def __init__(self, registry: ThreadRegistry) -> None:
        self.registry = registry

    def keep(self, thread_id: str, messages: list[AnyMessage]) -> None:
        """Store the messages a summary is about to replace."""
        key = f"{PREFIX}{time.time_ns():020d}"
        self.registry.set_note(thread_id, key, {"messages": messages_to_dict(messages)})

    def messages(self, thread_id: str) -> list[BaseMessage]:
        """Every condensed message of the conversation, oldest first."""
        notes = self.registry.notes(thread_id)
        out: list[BaseMessage] = []
        for key in sorted(k for k in notes if k.startswith(PREFIX)):
            out += messages_from_dict(notes[key].get("messages") or [])
        return out
