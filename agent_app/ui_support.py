"""Small read helpers the front ends need beyond ChatService (thread search, model lists, sibling services)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from agent_app.service import ChatService
from agent_app.settings import DEFAULT_MODELS, Settings
from agent_app.storage.threads import ThreadInfo

log = logging.getLogger(__name__)
DASHSCOPE_MODELS = (
    "qwen-plus",
    "qwen-max",
    "qwen-turbo",
    "qwen-flash",
    "qwen3-max",
    "qwq-plus",
    "qwen3-235b-a22b",
    "qwen3-32b",
    "qwen3-8b",
)
PROVIDERS = ("dashscope", "ollama", "openai", "offline")
CONTENT_SCAN_LIMIT = 200


def search_threads(svc: ChatService, user: str, query: str = "") -> list[ThreadInfo]:
    """Threads whose title matches, then threads whose messages contain the query (newest first)."""
    query = " ".join(query.split())
    if not query:
        return svc.list_threads(user)
    by_title = svc.list_threads(user, query)
    seen = {t.id for t in by_title}
    needle = query.casefold()
    by_content = []
    for info in svc.list_threads(user)[:CONTENT_SCAN_LIMIT]:
        if info.id in seen:
            continue
        if any(needle in (m.get("text") or "").casefold() for m in svc.messages(user, info.id)):
            by_content.append(info)
    return by_title + by_content


def configured_providers(settings: Settings, ollama_models: list[str]) -> list[str]:
    """Providers this deployment can use: keys present, Ollama reachable, or chosen in settings."""
    usable = {
        "dashscope": bool(settings.dashscope_api_key),
        "ollama": bool(ollama_models) or settings.resolved_provider == "ollama",
        "openai": bool(settings.openai_base_url or settings.openai_api_key),
        "offline": True,
    }
    return [p for p in PROVIDERS if usable[p] or p == settings.resolved_provider]


def model_options(settings: Settings, provider: str, ollama_models: list[str]) -> list[str]:
    """Suggested models for a provider; the configured default comes first."""
    default = (
        settings.resolved_model
        if provider == settings.resolved_provider
        else DEFAULT_MODELS[provider]
    )
    listed: Sequence[str] = {
        "dashscope": DASHSCOPE_MODELS,
        "ollama": ollama_models,
        "openai": (),
        "offline": (),
    }[provider]
    return list(dict.fromkeys([default, *listed]))


def ollama_models(host: str, allow_remote: bool = False) -> list[str]:
    """Models pulled into an Ollama server (empty when it is not running or not local)."""
    from agent_app.providers.ollama_check import is_local_url, list_models

    if not allow_remote and not is_local_url(host):
        return []
    return list_models(host, timeout=1.0)


def tool_rows(svc: ChatService) -> list[dict[str, Any]]:
    """Every tool source with its state, as `agent-app tools list --json` shows it."""
    toolset = svc.extras.get("toolset")
    if toolset is not None:
        return [{**info.to_json(), "description": info.description} for info in toolset.infos]
    return [
        {
            "name": t.name,
            "source": "",
            "enabled": True,
            "reason": "",
            "needs_approval": False,
            "description": str(t.description or "")[:200],
        }
        for t in svc.tools
    ]


def memory_service(svc: ChatService) -> Any | None:
    """The MemoryService over the chat's long-term store, or None when memory is not wired."""
    if svc.store is None:
        return None
    try:
        return svc.memory
    except ImportError:
        return None


def knowledge_service(settings: Settings, user: str) -> Any | None:
    """A KnowledgeService for this user, or None when the knowledge base is unavailable."""
    try:
        from agent_app.knowledge.service import KnowledgeService

        return KnowledgeService(settings, user=user)
    except Exception:  # an unfinished or broken module must not take the chat page down
        log.exception("knowledge base unavailable")
        return None


def thread_choice(settings: Settings, options: dict[str, Any] | None) -> dict[str, Any]:
    """The provider, model, thinking and temperature a conversation will use."""
    from agent_app.providers.chat import default_choice

    choice = default_choice(settings, options or {})
    return {
        "provider": choice.provider,
        "model": choice.model,
        "thinking": choice.thinking,
        "temperature": choice.temperature,
    }
