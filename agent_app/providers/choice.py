"""ModelChoice: which provider and model a conversation runs on (no client is imported here)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent_app.settings import DEFAULT_MODELS


@dataclass
class ModelChoice:
    """Provider, model and options chosen for one conversation."""

    provider: str
    model: str
    thinking: bool = False
    temperature: float | None = None
    notices: list[str] = field(default_factory=list)
    supports_tools: bool = True
    small: bool = False
    """Small models see only the few most relevant tools (and may call them in JSON text)."""
    vision: bool = False
    """The model can see images (set by prepare_choice); others get a placeholder for each."""

    @property
    def label(self) -> str:
        """`provider:model`, as shown to the user."""
        return f"{self.provider}:{self.model}"


VISION_NAMES = re.compile(r"(?i)(^|[-_.:/])(vl|qvq|omni|vision|llava|minicpm-v|gemma3|4o)")


def looks_visual(model: str) -> bool:
    """Whether a model's name says it sees images (Qwen-VL, QVQ, Qwen-Omni, LLaVA…)."""
    return bool(VISION_NAMES.search(model))


def parse_model_spec(spec: str, default_provider: str) -> tuple[str, str]:
    """'ollama:qwen3:0.6b' → ('ollama', 'qwen3:0.6b'); 'qwen-max' → (default, 'qwen-max')."""
    head, _, rest = spec.partition(":")
    if head in DEFAULT_MODELS and rest:
        return head, rest
    return default_provider, spec
