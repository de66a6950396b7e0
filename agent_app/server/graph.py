"""make_graph: the agent LangGraph Server serves (named in langgraph.json), built from Settings.

The server brings its own checkpointer and store (in memory under `langgraph dev`, PostgreSQL
under `langgraph up` and on the platform) and injects them into the graph; everything else —
model, tools (built-ins, tools/, entry points, MCP), prompts and middleware — is the same as in
the app. A run's configurable `agent_options` (a conversation's stored choices) and `lang` pick
the agent, as they do in-process.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig

from agent_app.agent.cache import AgentCache
from agent_app.providers.choice import ModelChoice
from agent_app.settings import Settings, load_settings
from agent_app.thread_options import ThreadOptions

log = logging.getLogger(__name__)
LANGS = ("zh", "en")


@dataclass
class ServerParts:
    """What every run of the served graph shares: settings, tools and the compiled agents."""

    settings: Settings
    agents: AgentCache


_PARTS: ServerParts | None = None
_LOCK = threading.Lock()


def open_parts(settings: Settings) -> ServerParts:
    """Load tools and prepare the agent cache (no checkpointer, no store: the server injects them)."""
    from agent_app.providers.chat import make_chat_model
    from agent_app.wiring import load_toolset, open_knowledge, prepare_process

    prepare_process(settings)
    toolset = load_toolset(settings, open_knowledge(settings), with_memory=True)
    for info in toolset.infos:
        if not info.enabled:
            log.warning("tool %s disabled: %s", info.name, info.reason)
    agents = AgentCache(
        settings,
        lambda choice: make_chat_model(settings, choice),
        None,
        None,
        toolset.tools,
        recall=True,  # the server's store reaches the middleware through the runtime
    )
    return ServerParts(settings, agents)


def _parts() -> ServerParts:
    global _PARTS
    with _LOCK:  # built on the first request, never at import
        if _PARTS is None:
            _PARTS = open_parts(load_settings())
        return _PARTS


def agent_for(parts: ServerParts, configurable: dict[str, Any]) -> Any:
    """The compiled agent for one run's conversation options and language."""
    from agent_app.errors import AppError
    from agent_app.providers.models import prepare_choice

    settings = parts.settings
    stored = configurable.get("agent_options")
    options = ThreadOptions.resolve(settings, stored if isinstance(stored, dict) else None)
    lang = str(configurable["lang"]) if configurable.get("lang") in LANGS else settings.lang
    try:
        choice = prepare_choice(settings, options.model_choice())
    except AppError:  # the run fails with that error; reading state must still work
        if configurable.get("run_id"):
            raise
        choice = prepare_choice(settings, ModelChoice("offline", "offline"), probe=False)
    return parts.agents.get(choice, lang, options, any_lang=True)


def make_graph(config: RunnableConfig) -> Any:
    """LangGraph Server's graph factory: called for each run (and each state read)."""
    return agent_for(_parts(), dict(config.get("configurable") or {}))
