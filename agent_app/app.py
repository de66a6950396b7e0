"""open_service: wires settings, storage, memory, knowledge and tools into one ChatService."""

from __future__ import annotations

import logging
from typing import Any

from agent_app.service import ChatService, check_environment
from agent_app.settings import Settings
from agent_app.storage.checkpoints import open_checkpointer
from agent_app.storage.threads import ThreadRegistry

log = logging.getLogger(__name__)


def memory_embedder(settings: Settings) -> Any:
    """LangChain Embeddings for long-term memory: offline unless a provider is configured."""
    from agent_app.providers.offline_embed import OfflineEmbedder

    if settings.embedding_provider in ("offline", "auto") and not (
        settings.embedding_provider == "auto" and settings.dashscope_api_key
    ):
        return OfflineEmbedder()
    from agent_app.knowledge.embedders import make_embedder

    inner = getattr(make_embedder(settings), "_inner", None)
    return inner if inner is not None else OfflineEmbedder()


def open_memory_store(settings: Settings) -> Any:
    from agent_app.memory.store import SqliteFaissStore

    return SqliteFaissStore(settings.data_dir / "memory.db", memory_embedder(settings))


def open_knowledge(settings: Settings) -> Any:
    from agent_app.knowledge.service import KnowledgeService

    return KnowledgeService(settings)


def load_toolset(settings: Settings, knowledge: Any | None, with_memory: bool) -> Any:
    """Every tool through the one loader: built-ins, service built-ins, tools/, entry points, MCP."""
    from agent_app.builtins import service_builtins
    from agent_app.toolbox import load_tools

    return load_tools(settings, extra_builtins=service_builtins(knowledge, with_memory))


def open_service(settings: Settings, **overrides: Any) -> ChatService:
    """Open (creating if needed) the data directory and everything that lives in it."""
    check_environment()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    extras: dict[str, Any] = {}
    store = overrides.pop("store", None)
    if store is None and overrides.pop("memory", True):
        store = open_memory_store(settings)
    knowledge = overrides.pop("knowledge", None)
    tools = overrides.pop("tools", None)
    if tools is None:
        knowledge = knowledge or open_knowledge(settings)
        toolset = load_toolset(settings, knowledge, store is not None)
        extras["toolset"] = toolset
        tools = list(toolset.tools)
    extras["knowledge"] = knowledge
    return ChatService(
        settings,
        registry=ThreadRegistry(settings.data_dir / "app.db"),
        checkpointer=open_checkpointer(settings.data_dir / "checkpoints.db"),
        store=store,
        tools=tools,
        extras=extras,
        **overrides,
    )
