"""Localized user-facing strings (zh / en), loaded from agent_app/locales/*.json."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGS = ("zh", "en")
_DIR = Path(__file__).parent / "locales"


@cache
def _table(lang: str) -> dict[str, str]:
    with open(_DIR / f"{lang}.json", encoding="utf-8") as fh:
        data: dict[str, str] = json.load(fh)
    return data


def normalize_lang(lang: str | None) -> str:
    """Map 'zh-CN', 'en_US', None… onto a supported language code."""
    low = (lang or "").lower()
    if low.startswith("en"):
        return "en"
    return "zh" if low.startswith("zh") or not low else "en"


def t(key: str, lang: str | None = "zh", **params: object) -> str:
    """Translate `key`; falls back to English, then to the key itself."""
    code = normalize_lang(lang)
    text = _table(code).get(key) or _table("en").get(key) or key
    try:
        return text.format(**params) if params else text
    except (KeyError, IndexError, ValueError):
        return text


def tn(key: str, count: int, lang: str | None = "zh", **params: object) -> str:
    """Translate a counted phrase: `key.one` when count is 1 and the language has one, else `key`.

    Chinese needs no singular (`1 个片段`), so its table simply has no `.one` entries.
    """
    code = normalize_lang(lang)
    if count == 1 and f"{key}.one" in _table(code):
        return t(f"{key}.one", code, count=count, **params)
    return t(key, code, count=count, **params)
