"""Small helpers shared by tests: building a service around a scripted model."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import tool

from agent_app import events as ev
from agent_app.wiring import open_service


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def echo_tool(text: str) -> str:
    """Echo the text back."""
    return f"echo:{text}"


def scripted_service(settings: Any, model: Any, tools: Any = (add, echo_tool), **kw: Any):
    """A ChatService whose every model is `model` (the ScriptedChatModel)."""
    from agent_app.toolbox.registry import Toolset

    settings = settings.with_overrides(provider="openai", openai_base_url="http://127.0.0.1:9/v1")
    given = tools if isinstance(tools, Toolset) else list(tools)  # a loaded Toolset stays live
    return open_service(settings, tools=given, model_factory=lambda choice: model, **kw)


def collect(events) -> ev.TurnResult:
    return ev.TurnResult(events=list(events))
