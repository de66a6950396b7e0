"""Model choice preparation: capability checks before a model is used (Ollama /api/show)."""

from __future__ import annotations

import time

from agent_app.errors import ProviderNotConfiguredError
from agent_app.i18n import t
from agent_app.providers.choice import ModelChoice, looks_visual
from agent_app.providers.ollama_check import capabilities, check_server
from agent_app.settings import Settings

_CACHE_TTL_S = 60.0
_caps_cache: dict[tuple[str, str], tuple[float, set[str]]] = {}


def _ollama_caps(settings: Settings, model: str, probe: bool = True) -> set[str]:
    key = (settings.ollama_host, model)
    hit = _caps_cache.get(key)
    if hit and (not probe or time.monotonic() - hit[0] < _CACHE_TTL_S):
        return hit[1]
    if not probe:
        return set()
    check_server(settings.ollama_host, allow_remote=settings.ollama_allow_remote)
    caps = capabilities(settings.ollama_host, model)
    _caps_cache[key] = (time.monotonic(), caps)
    return caps


def prepare_choice(settings: Settings, choice: ModelChoice, *, probe: bool = True) -> ModelChoice:
    """Validate a choice and fill in what the model can do; raises a clear AppError.

    `probe=False` never asks the Ollama server (it uses what an earlier probe learnt), for
    reads that must work while the server is down.
    """
    if choice.provider == "dashscope" and not settings.dashscope_api_key:
        raise ProviderNotConfiguredError("no DashScope key")
    choice.vision = looks_visual(choice.model)
    if choice.provider == "ollama":
        caps = _ollama_caps(settings, choice.model, probe)
        choice.vision = "vision" in caps if caps else choice.vision
        if caps and "tools" not in caps:
            choice.supports_tools = False
            choice.small = True
            choice.notices.append(t("notice.no_tools", settings.lang, model=choice.model))
        if choice.thinking and caps and "thinking" not in caps:
            choice.thinking = False
    if choice.provider == "offline":
        choice.supports_tools = False
    marks = [m.strip().lower() for m in settings.small_models.split(",") if m.strip()]
    if any(m in choice.model.lower() for m in marks):
        choice.small = True
    return choice
