"""open_service: wires settings, storage, memory, knowledge and tools into one ChatService."""

from __future__ import annotations

import logging
from typing import Any

from agent_app.service import ChatService, check_environment
from agent_app.settings import Settings
from agent_app.storage.checkpoints import open_checkpointer
from agent_app.storage.threads import ThreadRegistry

log = logging.getLogger(__name__)


def _memory_store(settings: Settings) -> Any:
    try:
        from agent_app.memory.store import SqliteFaissStore
        from agent_app.providers.embeddings import make_embedder
    except ImportError:
        return None
    return SqliteFaissStore(settings.data_dir / "memory.db", make_embedder(settings))


def _tools(settings: Settings, service_extras: dict[str, Any]) -> list[Any]:
    try:
        from agent_app.toolbox.loader import load_tools
    except ImportError:
        return []
    toolset = load_tools(settings, extra_builtins=service_extras.get("builtins", ()))
    service_extras["toolset"] = toolset
    return list(toolset.tools)


def open_service(settings: Settings, **overrides: Any) -> ChatService:
    """Open (creating if needed) the data directory and everything that lives in it."""
    check_environment()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    extras: dict[str, Any] = {}
    store = overrides.pop("store", None) or _memory_store(settings)
    tools = overrides.pop("tools", None)
    if tools is None:
        tools = _tools(settings, extras)
    return ChatService(
        settings,
        registry=ThreadRegistry(settings.data_dir / "app.db"),
        checkpointer=open_checkpointer(settings.data_dir / "checkpoints.db"),
        store=store,
        tools=tools,
        extras=extras,
        **overrides,
    )
