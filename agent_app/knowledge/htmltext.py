"""HTML → plain text sections (headings kept as context); the markup is read, never rendered."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from agent_app.textsafe import clean_text

_SKIP = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object", "select"}
_BLOCK = {
    "p",
    "div",
    "br",
    "li",
    "tr",
    "table",
    "section",
    "article",
    "blockquote",
    "pre",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "header",
    "footer",
    "main",
    "nav",
    "aside",
    "hr",
    "figure",
}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_VOID = {
    "br",
    "hr",
    "img",
    "input",
    "meta",
    "link",
    "area",
    "base",
    "col",
    "embed",
    "source",
    "wbr",
}


class _Extractor(HTMLParser):
    """Collects visible text; hidden elements (hidden, aria-hidden, display:none) are dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[dict[str, Any]] = []
        self._path: list[tuple[int, str]] = []
        self._buf: list[str] = []
        self._heading: list[str] | None = None
        self._level = 0
        self._skip_stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if tag in ("br", "hr") and not self._skip_stack:
                self._buf.append("\n")
            return
        if self._skip_stack or tag in _SKIP or _hidden(attrs):
            self._skip_stack.append(tag)
            return
        if tag in _HEADINGS:
            self._flush()
            self._heading, self._level = [], _HEADINGS[tag]
        elif tag in _BLOCK:
            self._buf.append("\n")
        elif tag in ("td", "th"):
            self._buf.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if self._skip_stack:
            if tag == self._skip_stack[-1]:
                self._skip_stack.pop()
            return
        if tag in _HEADINGS and self._heading is not None:
            title = " ".join("".join(self._heading).split())
            self._heading = None
            if title:
                keep = [(lvl, t) for lvl, t in self._path if lvl < self._level]
                self._path = keep + [(self._level, title)]
        elif tag in _BLOCK:
            self._buf.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip_stack:
            return
        (self._heading if self._heading is not None else self._buf).append(data)

    def _flush(self) -> None:
        lines = (" ".join(line.split()) for line in "".join(self._buf).splitlines())
        body = "\n".join(line for line in lines if line)
        if body:
            heading = " > ".join(t for _, t in self._path) or None
            self.sections.append({"text": clean_text(body), "page": None, "heading": heading})
        self._buf = []

    def finish(self) -> list[dict[str, Any]]:
        self.close()
        self._flush()
        return self.sections


def _hidden(attrs: list[tuple[str, str | None]]) -> bool:
    values = {name: (value or "").lower() for name, value in attrs}
    style = values.get("style", "").replace(" ", "")
    return (
        "hidden" in values
        or values.get("aria-hidden") == "true"
        or "display:none" in style
        or "visibility:hidden" in style
    )


def html_sections(text: str) -> list[dict[str, Any]]:
    """Visible text of an HTML document, split at h1–h6."""
    parser = _Extractor()
    parser.feed(text)
    return parser.finish()
