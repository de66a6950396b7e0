"""Runtime context of one turn: who is asking, and the turn's budgets."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TurnState:
    """Mutable per-turn counters shared by the middleware and the service."""

    deadline: float = field(default_factory=lambda: time.monotonic() + 180.0)
    streamed: bool = False
    """True once answer text reached the user: a retry would then repeat it."""
    tool_calls: int = 0
    seen_calls: dict[str, int] = field(default_factory=dict)
    repairs: int = 0
    memory_items: list[dict[str, Any]] = field(default_factory=list)
    fallback_used: str | None = None


@dataclass
class AgentContext:
    """Passed as `context=` to every run; tools and middleware read it from the runtime."""

    user_id: str = "local"
    thread_id: str = ""
    lang: str = "zh"
    turn: TurnState = field(default_factory=TurnState)
    collections: tuple[str, ...] | None = None
    """Knowledge-base collections the conversation searches; None: all, (): none chosen."""
