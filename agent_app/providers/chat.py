"""Chat model factory: one place that knows how each provider's client is built."""

from __future__ import annotations

from typing import Any

import httpx
from langchain_core.language_models.chat_models import BaseChatModel
from pydantic import SecretStr

from agent_app.errors import ProviderNotConfiguredError
from agent_app.logsetup import register_secret
from agent_app.providers.choice import ModelChoice
from agent_app.settings import Settings


def _timeout(settings: Settings) -> httpx.Timeout:
    return httpx.Timeout(settings.request_timeout, connect=settings.connect_timeout)


def _dashscope(settings: Settings, choice: ModelChoice) -> BaseChatModel:
    from langchain_qwq import ChatQwen

    if not settings.dashscope_api_key:
        raise ProviderNotConfiguredError("DASHSCOPE_API_KEY missing")
    key = settings.dashscope_api_key.get_secret_value()
    register_secret(key)
    # With the web_search tool on DashScope's own search the model searches through it, so every
    # search comes with its sources; searching silently inside the chat call would give none (the
    # compatible mode never returns them).
    from agent_app.toolbox.websearch import engine

    searches_itself = settings.enable_search and engine(settings) != "dashscope"
    extra: dict[str, Any] = {"enable_search": True} if searches_itself else {}
    return ChatQwen(  # type: ignore[call-arg]
        model=choice.model,
        api_key=SecretStr(key),
        api_base=settings.dashscope_base,
        enable_thinking=choice.thinking,
        temperature=choice.temperature,
        max_retries=0,  # our middleware retries, and never on quota or inspection errors
        timeout=_timeout(settings),
        streaming=True,
        extra_body=extra or None,
    )


def _ollama(settings: Settings, choice: ModelChoice) -> BaseChatModel:
    from langchain_ollama import ChatOllama

    return ChatOllama(
        model=choice.model,
        base_url=settings.ollama_host,
        reasoning=choice.thinking,
        temperature=choice.temperature,
        client_kwargs={"timeout": _timeout(settings), "trust_env": False},
    )


def _openai(settings: Settings, choice: ModelChoice) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    if not settings.openai_base_url and not settings.openai_api_key:
        raise ProviderNotConfiguredError("OPENAI_BASE_URL / OPENAI_API_KEY missing")
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    register_secret(key)
    return ChatOpenAI(
        model=choice.model,
        base_url=settings.openai_base_url,
        api_key=SecretStr(key),
        temperature=choice.temperature,
        max_retries=0,
        timeout=_timeout(settings),
        streaming=True,
        stream_usage=True,
    )


def _offline(settings: Settings, choice: ModelChoice) -> BaseChatModel:
    from agent_app.providers.offline_chat import OfflineChatModel

    return OfflineChatModel(lang=settings.lang)


_BUILDERS = {"dashscope": _dashscope, "ollama": _ollama, "openai": _openai, "offline": _offline}


def make_chat_model(settings: Settings, choice: ModelChoice) -> BaseChatModel:
    """Build the LangChain chat client for a choice; raises ProviderNotConfiguredError."""
    return _BUILDERS[choice.provider](settings, choice)
