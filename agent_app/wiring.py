"""open_service: wires settings, storage, memory, knowledge and tools into one ChatService."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from agent_app.logsetup import register_configured_secrets
from agent_app.settings import Settings
from agent_app.tracing import redact_traces

if TYPE_CHECKING:
    # Annotations only: BaseTool's module pulls in LangSmith's run trees (about a second), which
    # `agent-app memory` and `kb` never use.
    from langchain_core.tools import BaseTool
    from langgraph.store.base import BaseStore

    from agent_app.auth.accounts import AccountStore
    from agent_app.budget import UsageLedger
    from agent_app.conversations import Conversations
    from agent_app.knowledge.service import KnowledgeService
    from agent_app.memory.pg_store import PgMemoryStore
    from agent_app.memory.store import SqliteFaissStore
    from agent_app.service import ChatService
    from agent_app.toolbox.registry import Toolset
    from agent_app.turn_runner import ModelFactory

log = logging.getLogger(__name__)


def check_environment() -> None:
    """Start-up: drop environment settings that would weaken the egress policy (with a warning)."""
    from agent_app.toolbox.netguard import egress_env_problems

    for problem in egress_env_problems():
        log.warning("%s; ignoring it", problem)
        os.environ.pop("LANGCHAIN_ENV", None)


def memory_embedder(settings: Settings) -> Embeddings:
    """LangChain Embeddings for long-term memory: the same model as the knowledge base."""
    from agent_app.knowledge.embedders import embedding_provider, make_embedder
    from agent_app.providers.offline_embed import OfflineEmbedder

    if embedding_provider(settings) == "offline":
        return OfflineEmbedder()

    inner = getattr(make_embedder(settings), "_inner", None)
    return inner if isinstance(inner, Embeddings) else OfflineEmbedder()


def open_memory_store(settings: Settings) -> SqliteFaissStore | PgMemoryStore:
    """The long-term memory store; a changed embedder re-embeds every memory (dimensions never mix).

    With a database URL: LangGraph's PostgresStore in that database (pgvector, our embedder).
    """
    if settings.database_url is not None:
        from agent_app.memory.pg_store import open_pg_memory_store
        from agent_app.storage.backend import target_for

        return open_pg_memory_store(str(target_for(settings, "")), memory_embedder(settings))
    from agent_app.memory.store import SqliteFaissStore
    from agent_app.providers.offline_embed import OfflineEmbedder

    path, embedder = settings.data_dir / "memory.db", memory_embedder(settings)
    try:
        return SqliteFaissStore(path, embedder, index_fields=("text",), reembed_on_change=True)
    except Exception:  # the provider failed during the re-embed: nothing was written; stay usable
        if isinstance(embedder, OfflineEmbedder):
            raise
        log.warning("memory store: embedding provider unavailable, using the offline embedder")
        return SqliteFaissStore(
            path, OfflineEmbedder(), index_fields=("text",), reembed_on_change=True
        )


def open_knowledge(settings: Settings) -> KnowledgeService:
    """The knowledge base in the data directory (lazy: nothing heavy until first used)."""
    from agent_app.knowledge.service import KnowledgeService

    return KnowledgeService(settings)


def load_toolset(
    settings: Settings,
    knowledge: KnowledgeService | None,
    with_memory: bool,
    *,
    include_mcp: bool = True,
) -> Toolset:
    """Every tool through the one loader: built-ins, service tools, tools/, entry points, MCP."""
    from agent_app.toolbox import load_tools
    from agent_app.toolbox.service_tools import service_tools

    return load_tools(
        settings, extra_builtins=service_tools(knowledge, with_memory), include_mcp=include_mcp
    )


def given_toolset(tools: Sequence[BaseTool]) -> Toolset:
    """A Toolset of exactly these tools (tests and embedding apps that bring their own)."""
    from agent_app.toolbox.registry import ToolInfo, Toolset, needs_approval

    infos = [
        ToolInfo(
            name=t.name,
            source="",
            enabled=True,
            needs_approval=needs_approval(t),
            description=str(t.description or "")[:200],
        )
        for t in tools
    ]
    return Toolset(tools=list(tools), infos=infos)


def prepare_process(settings: Settings) -> None:
    """Start-up checks and settings that must hold before any part opens."""
    check_environment()
    register_configured_secrets(settings)
    redact_traces(settings.trace_content)  # before the first run creates LangSmith's client
    settings.data_dir.mkdir(parents=True, exist_ok=True)


def _user_stores(
    settings: Settings, accounts: AccountStore | None | bool, budget: UsageLedger | None | bool
) -> tuple[AccountStore | None, UsageLedger | None]:
    """The account store and usage ledger: opened when True, as given otherwise (None: none)."""
    if accounts is True:
        from agent_app.auth import open_accounts

        accounts = open_accounts(settings)
    if budget is True:
        from agent_app.budget import open_ledger

        budget = open_ledger(settings)
    return accounts or None, budget or None


def open_service(
    settings: Settings,
    *,
    store: BaseStore | None = None,
    memory: bool = True,
    knowledge: KnowledgeService | None = None,
    tools: Sequence[BaseTool] | Toolset | None = None,
    include_mcp: bool = True,
    model_factory: ModelFactory | None = None,
    accounts: AccountStore | None | bool = True,
    budget: UsageLedger | None | bool = True,
    conversations: Conversations | None = None,
) -> ChatService:
    """Open (creating if needed) the data directory and everything that lives in it.

    `store` replaces the memory store (`memory=False`: no long-term memory at all); `knowledge`
    replaces the knowledge base; `tools` replaces the loaded tool sources with exactly these;
    `accounts` / `budget` replace the user store and the usage ledger (None: none at all);
    `conversations` reuses an already opened conversation database (the service closes it).
    """
    from agent_app.service import ChatService  # not at import: the memory CLI needs only the store
    from agent_app.storage.backend import target_for
    from agent_app.storage.checkpoints import open_checkpointer
    from agent_app.storage.threads import ThreadRegistry

    prepare_process(settings)
    # The databases first: a wrong database URL or password stops here, before anything heavy.
    registry = (
        conversations.registry
        if conversations is not None
        else ThreadRegistry(target_for(settings, "app.db"))
    )
    checkpointer = open_checkpointer(target_for(settings, "checkpoints.db"))
    if settings.backend:  # a LangGraph Server runs the turns: its own tools and memory store
        memory, tools = False, [] if tools is None else tools
    if store is None and memory:
        store = open_memory_store(settings)
    knowledge = knowledge or open_knowledge(settings)
    from agent_app.toolbox import registry as toolreg

    if tools is None:
        toolset = load_toolset(settings, knowledge, store is not None, include_mcp=include_mcp)
    elif isinstance(tools, toolreg.Toolset):  # already loaded (its MCP servers may list more)
        toolset = tools
    else:
        toolset = given_toolset(tools)
    accounts, budget = _user_stores(settings, accounts, budget)
    return ChatService(
        settings,
        registry=registry,
        checkpointer=checkpointer,
        toolset=toolset,
        store=store,
        knowledge=knowledge,
        model_factory=model_factory,
        accounts=accounts,
        budget=budget,
    )
