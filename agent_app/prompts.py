"""Prompts live in files under prompts/ (zh and en), loaded by name."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from agent_app.i18n import normalize_lang

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


@cache
def load_prompt(name: str, lang: str = "zh") -> str:
    """Text of prompts/<name>.<lang>.md, falling back to English."""
    code = normalize_lang(lang)
    for candidate in (f"{name}.{code}.md", f"{name}.en.md", f"{name}.md"):
        path = PROMPTS_DIR / candidate
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    raise FileNotFoundError(f"prompt {name!r} not found")
