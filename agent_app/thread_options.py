"""ThreadOptions: one conversation's model and behaviour choices, defaults applied in one place."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, cast

from agent_app.providers.choice import ModelChoice
from agent_app.settings import DEFAULT_MODELS, Settings

ApprovalMode = Literal["ask", "all", "none"]
APPROVAL_MODES: tuple[ApprovalMode, ...] = ("ask", "all", "none")


@dataclass(frozen=True)
class ThreadOptions:
    """What a conversation runs with: its stored choices over the deployment's settings.

    Built only by `ThreadOptions.resolve`; the thread registry keeps just the choices the user
    made (as JSON), so a conversation follows later changes of the settings it never overrode.
    """

    provider: str
    model: str
    thinking: bool
    approval_mode: ApprovalMode
    """ask: pause on tools that declare it; all: ask before every tool; none: never ask."""
    plan: bool
    """Visible plan (todo list) for multi-step requests."""
    disabled_tools: tuple[str, ...] = ()
    temperature: float | None = None
    """None: the provider's own default."""
    collections: tuple[str, ...] | None = None
    """Knowledge-base collections to search; None: all of them, (): none was chosen."""

    @classmethod
    def resolve(cls, settings: Settings, stored: Mapping[str, Any] | None = None) -> ThreadOptions:
        """The one place defaults are applied; tolerant of old or hand-edited rows."""
        raw = clean_choices(stored or {})
        provider = raw.get("provider") or settings.resolved_provider
        default_model = (
            settings.resolved_model
            if provider == settings.resolved_provider
            else DEFAULT_MODELS[provider]
        )
        return cls(
            provider=provider,
            model=raw.get("model") or default_model,
            thinking=raw.get("thinking", settings.enable_thinking),
            approval_mode=raw.get("approval_mode") or settings.approval_mode,
            plan=raw.get("plan", settings.plan),
            disabled_tools=raw.get("disabled_tools", ()),
            temperature=raw.get("temperature", settings.temperature),
            collections=raw.get("collections"),
        )

    def model_choice(self) -> ModelChoice:
        """The provider/model part, as the model factory takes it."""
        return ModelChoice(
            self.provider, self.model, thinking=self.thinking, temperature=self.temperature
        )


FIELDS = frozenset(f.name for f in fields(ThreadOptions))


def _names(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list | tuple):
        return None
    return tuple(dict.fromkeys(str(v) for v in value if isinstance(v, str) and v))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def clean_choices(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The valid, known choices of a stored row (unknown keys and wrong types are dropped)."""
    out: dict[str, Any] = {}
    for key, value in stored.items():
        if key not in FIELDS or value is None:
            continue
        if key == "provider" and value in DEFAULT_MODELS:
            out[key] = value
        elif key == "model" and isinstance(value, str) and value:
            out[key] = value
        elif key in ("thinking", "plan") and isinstance(value, bool):
            out[key] = value
        elif key == "approval_mode" and value in APPROVAL_MODES:
            out[key] = cast(ApprovalMode, value)
        elif key == "temperature" and _number(value) is not None:
            out[key] = _number(value)
        elif key in ("disabled_tools", "collections") and _names(value) is not None:
            out[key] = _names(value)
    return out


def merge_choices(stored: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Stored choices with `changes` applied (None keeps a value); the JSON form to save."""
    unknown = set(changes) - FIELDS
    if unknown:
        raise TypeError(f"unknown thread options: {sorted(unknown)}")
    merged = clean_choices({**stored, **{k: v for k, v in changes.items() if v is not None}})
    return {k: list(v) if isinstance(v, tuple) else v for k, v in merged.items()}
