"""What a turn leaves beside its messages: usage, memories, sources and notices, or how it failed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from agent_app import events as ev

PAUSED = "paused-turn"
"""The note key (in place of a message id) of a turn waiting for an approval."""
PAUSED_KEYS = ("usage", "memories", "citations", "notices")


@dataclass
class TurnNotes:
    """Collected from a turn's events; stored with the answer so a reload shows them again."""

    usage: list[dict[str, Any]] = field(default_factory=list)
    memories: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @classmethod
    def carried(cls, stored: dict[str, Any] | None) -> TurnNotes:
        """The notes a turn gathered before it paused for an approval (it goes on after resume)."""
        stored = stored or {}
        return cls(**{key: list(stored.get(key) or []) for key in PAUSED_KEYS})

    def take(self, event: ev.Event) -> None:
        """Keep what the event says about the turn (usage, memories, sources, notices)."""
        if isinstance(event, ev.Usage):
            self.usage.append(asdict(event))
        elif isinstance(event, ev.MemoryUsed):
            self.memories.extend(event.items)
        elif isinstance(event, ev.Citation):
            self.citations.append(asdict(event))
        elif isinstance(event, ev.Notice) and event.message not in self.notices:
            self.notices.append(event.message)

    def as_dict(self) -> dict[str, Any]:
        """The notes worth storing (empty when the turn had none)."""
        notes = {
            "usage": self.usage,
            "memories": self.memories,
            "citations": self.citations,
            "notices": self.notices,
        }
        return notes if any(notes.values()) else {}


def failure(error: ev.Error, partial: str = "") -> dict[str, Any]:
    """The note kept on a user message whose turn failed or was stopped (shown until a retry answers)."""
    return {"failed": {"kind": error.kind, "message": error.message, "partial": partial}}
