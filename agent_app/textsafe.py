"""Text hygiene: make any string safe to persist, index and display."""

from __future__ import annotations

import re
import unicodedata

# Unicode tag characters, zero-width and bidi controls used to smuggle hidden instructions.
_INVISIBLE = re.compile(
    "[\U000e0000-\U000e007f\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Replace lone surrogates, drop NUL/control characters; keeps ZWJ emoji and CJK intact."""
    if not isinstance(text, str):
        text = str(text)
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", text)


def strip_invisible(text: str) -> str:
    """clean_text plus removal of tag/zero-width/bidi characters (ZWJ \u200d is kept for emoji)."""
    return _INVISIBLE.sub("", clean_text(text))


def normalize_for_index(text: str) -> str:
    """NFKC + invisible-character removal: the form used for embeddings and search."""
    return unicodedata.normalize("NFKC", strip_invisible(text))


def truncate(text: str, limit: int, marker: str = "\n…[truncated]") -> str:
    """Cut text to at most `limit` characters, saying so."""
    return text if len(text) <= limit else text[: max(0, limit - len(marker))] + marker
