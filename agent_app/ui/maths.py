r"""LaTeX in model text, kept for Streamlit's KaTeX: `$…$`, `$$…$$`, `\(…\)`, `\[…\]`.

Math is set aside before the Markdown is made inert and put back after, as `$…$`/`$$…$$` (the
forms Streamlit renders). A lone `$` (prices: "¥100 and $5") is not math: an inline span needs a
non-space after its opening `$`, a non-space before its closing `$` and no digit right after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Fenced blocks (to their closing fence or the end) and inline code spans: no math inside code.
_CODE = re.compile(
    r"(?ms)^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)|(`+)[^`].*?\2(?!`)"
)
_MATH = re.compile(
    r"\$\$(?P<dd>[^$]+?)\$\$"
    r"|\\\[(?P<bd>.+?)\\\]"
    r"|\\\((?P<pi>[^\n]+?)\\\)"
    r"|(?<![\\$\w])\$(?P<di>[^\s$](?:[^\n$]*?[^\s\\$])?)\$(?![\d$])",
    re.S,
)
# Math that carries link, URL or code syntax stays text: the sanitizer deals with it there.
_NOT_MATH = re.compile(r"\]\(|\]\[|\]:|://|www\.|`")
_MARK = "\ue000{}\ue001"
_MARKED = re.compile("\ue000(\\d+)\ue001")


def _tex(body: str) -> str:
    return body.replace("<", r"\lt ").replace(">", r"\gt ")


def _set_aside(segment: str, found: list[str]) -> str:
    def one(m: re.Match[str]) -> str:
        body = next(g for g in m.groups() if g is not None)
        if not body.strip() or _NOT_MATH.search(body):
            return m.group(0)
        display = m.group("dd") is not None or m.group("bd") is not None
        found.append(f"$${_tex(body.strip())}$$" if display else f"${_tex(body.strip())}$")
        return _MARK.format(len(found) - 1)

    return _MATH.sub(one, segment)


def with_math_kept(text: str, sanitize: Callable[[str], str]) -> str:
    """`sanitize(text)` with the LaTeX outside code kept as math (not escaped)."""
    if "$" not in text and "\\(" not in text and "\\[" not in text:
        return sanitize(text)
    text = text.replace("\ue000", "").replace("\ue001", "")  # the markers are ours alone
    found: list[str] = []
    out, pos = [], 0
    for code in _CODE.finditer(text):
        out.append(_set_aside(text[pos : code.start()], found))
        out.append(code.group(0))
        pos = code.end()
    out.append(_set_aside(text[pos:], found))
    if not found:
        return sanitize(text)
    clean = sanitize("".join(out))
    return _MARKED.sub(lambda m: found[int(m.group(1))], clean)
