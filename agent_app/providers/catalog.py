"""The provider and model catalogue: which providers a deployment can use, and their models."""

from __future__ import annotations

from collections.abc import Sequence

from agent_app.settings import DEFAULT_MODELS, Settings

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


def configured_providers(settings: Settings, ollama_models: Sequence[str]) -> list[str]:
    """Providers this deployment can use: keys present, Ollama reachable, or chosen in settings."""
    usable = {
        "dashscope": bool(settings.dashscope_api_key),
        "ollama": bool(ollama_models) or settings.resolved_provider == "ollama",
        "openai": bool(settings.openai_base_url or settings.openai_api_key),
        "offline": True,
    }
    return [p for p in PROVIDERS if usable[p] or p == settings.resolved_provider]


def model_options(settings: Settings, provider: str, ollama_models: Sequence[str]) -> list[str]:
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
