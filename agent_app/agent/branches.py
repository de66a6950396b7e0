"""Answer versions and edits of a conversation, through the graph's public state API.

A regenerated answer keeps the ones before it as versions of that turn (the turn's messages as
LangChain's JSON dicts in the registry, never pickled); showing a version puts its messages back
into the thread with `update_state`, so the conversation continues from the version on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import (
    AnyMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    messages_from_dict,
    messages_to_dict,
)

from agent_app.agent.thread_state import stored_messages, thread_config
from agent_app.storage.threads import ThreadRegistry

PREFIX = "versions:"
"""Turn-note key of a user message's answer versions (beside the notes of the message itself)."""


@dataclass(frozen=True)
class Turn:
    """A user message and what the assistant did after it, as the thread holds them now."""

    index: int
    asked: HumanMessage
    tail: list[AnyMessage]


def turn_of(messages: list[AnyMessage], message_id: str | None = None) -> Turn | None:
    """The turn started by the user message `message_id` (default: the last user message)."""
    starts = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    if message_id is not None:
        starts = [i for i in starts if messages[i].id == message_id]
    if not starts:
        return None
    i = starts[-1]
    after = next(
        (j for j in range(i + 1, len(messages)) if isinstance(messages[j], HumanMessage)),
        len(messages),
    )
    asked = messages[i]
    assert isinstance(asked, HumanMessage)
    return Turn(i, asked, list(messages[i + 1 : after]))


def drop(graph: Any, thread_id: str, messages: list[AnyMessage]) -> None:
    """Remove these messages from the thread."""
    removals: list[BaseMessage] = [RemoveMessage(id=m.id) for m in messages if m.id]
    if removals:
        graph.update_state(thread_config(thread_id), {"messages": removals})


class Versions:
    """The answer versions of each turn of a conversation, kept in the registry's turn notes."""

    def __init__(self, registry: ThreadRegistry) -> None:
        self.registry = registry

    def of(self, thread_id: str) -> dict[str, dict[str, Any]]:
        """{user message id: {"active": k, "count": n}} for every turn that has versions."""
        out = {}
        for key, note in self.registry.notes(thread_id).items():
            if key.startswith(PREFIX) and note.get("versions"):
                out[key[len(PREFIX) :]] = {"active": note["active"], "count": len(note["versions"])}
        return out

    def _load(self, thread_id: str, asked_id: str) -> dict[str, Any]:
        note = self.registry.notes(thread_id).get(PREFIX + asked_id) or {}
        return {"versions": list(note.get("versions") or []), "active": int(note.get("active", 0))}

    def _save(self, thread_id: str, asked_id: str, note: dict[str, Any]) -> None:
        self.registry.set_note(thread_id, PREFIX + asked_id, note)

    def set_aside(self, graph: Any, thread_id: str) -> HumanMessage | None:
        """Keep the last turn's answer as a version and take it out of the thread (to answer again)."""
        turn = turn_of(stored_messages(graph, thread_id))
        if turn is None:
            return None
        if turn.tail:
            note = self._load(thread_id, str(turn.asked.id))
            kept = messages_to_dict(turn.tail)
            if note["versions"]:
                note["versions"][note["active"]] = kept
            else:
                note["versions"] = [kept]
            note["active"] = len(note["versions"])  # the answer about to be written
            self._save(thread_id, str(turn.asked.id), note)
            drop(graph, thread_id, turn.tail)
        return turn.asked

    def add_current(self, graph: Any, thread_id: str, asked_id: str) -> None:
        """Record the answer now in the thread as the newest version of its turn."""
        note = self._load(thread_id, asked_id)
        if not note["versions"]:
            return  # a first answer: no versions to flip between
        turn = turn_of(stored_messages(graph, thread_id), asked_id)
        if turn is None or not turn.tail:
            return
        note["versions"] = (
            note["versions"][: note["active"]]
            + [messages_to_dict(turn.tail)]
            + note["versions"][note["active"] + 1 :]
        )
        note["active"] = min(note["active"], len(note["versions"]) - 1)
        self._save(thread_id, asked_id, note)

    def show(self, graph: Any, thread_id: str, asked_id: str, index: int) -> bool:
        """Put version `index` of the last turn back into the thread; False if there is none."""
        note = self._load(thread_id, asked_id)
        turn = turn_of(stored_messages(graph, thread_id))
        if turn is None or turn.asked.id != asked_id or not 0 <= index < len(note["versions"]):
            return False
        if index == note["active"]:
            return True
        if turn.tail and note["active"] < len(note["versions"]):
            note["versions"][note["active"]] = messages_to_dict(turn.tail)
        drop(graph, thread_id, turn.tail)
        restored = messages_from_dict(note["versions"][index])
        graph.update_state(thread_config(thread_id), {"messages": restored})
        note["active"] = index
        self._save(thread_id, asked_id, note)
        return True


def cut_at(graph: Any, thread_id: str, message_id: str) -> bool:
    """Remove a user message and everything after it (to send an edited text in its place)."""
    messages = stored_messages(graph, thread_id)
    at = next(
        (i for i, m in enumerate(messages) if isinstance(m, HumanMessage) and m.id == message_id),
        None,
    )
    if at is None:
        return False
    drop(graph, thread_id, messages[at:])
    return True
