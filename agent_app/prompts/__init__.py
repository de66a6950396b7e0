"""Prompts are files in this package (`<name>.<lang>.md`, zh and en), loaded by name."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from agent_app.i18n import normalize_lang


@cache
def load_prompt(name: str, lang: str = "zh") -> str:
    """Return the text of `<name>.<lang>.md`, falling back to English, then to `<name>.md`."""
    code = normalize_lang(lang)
    # Read through importlib.resources so a wheel (or a zipped install) finds the files too.
    folder = files(__name__)
    for candidate in (f"{name}.{code}.md", f"{name}.en.md", f"{name}.md"):
        path = folder / candidate
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    raise FileNotFoundError(f"prompt {name!r} not found")
