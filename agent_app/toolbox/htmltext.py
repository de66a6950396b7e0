"""HTML to plain text without rendering: drops scripts, styles, comments and hidden elements (D2)."""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

_SKIPPED = {"script", "style", "noscript", "template", "svg", "math", "iframe", "object",
            "embed", "canvas", "select"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
         "source", "track", "wbr"}
_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section",
          "article", "header", "footer", "ul", "ol", "table", "blockquote", "pre", "hr", "dd",
          "dt", "main", "nav", "aside", "form", "figcaption", "details", "summary"}
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d])|opacity\s*:\s*0(?![.\d])"
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-]+)""", re.I)
_CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030"}


def _is_hidden(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    if tag in _SKIPPED:
        return True
    values = {name.lower(): (value or "") for name, value in attrs}
    return (
        "hidden" in values
        or values.get("aria-hidden", "").lower() == "true"
        or bool(_HIDDEN_STYLE.search(values.get("style", "").lower()))
    )


class _TextExtractor(HTMLParser):
    """Collects visible text; a hidden element is skipped with everything nested inside it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._skip_tag: str | None = None
        self._skip_depth = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag is not None:
            self._skip_depth += int(tag == self._skip_tag)
            return
        if tag == "title":
            self._in_title = True
            return
        if tag not in _VOID and _is_hidden(tag, attrs):
            self._skip_tag, self._skip_depth = tag, 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag is None and tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth -= 1
                if self._skip_depth == 0:
                    self._skip_tag = None
            return
        if tag == "title":
            self._in_title = False
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif self._skip_tag is None:
            self.parts.append(data)


def tidy(text: str) -> str:
    """Collapse runs of spaces and blank lines."""
    lines = (re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> tuple[str, str]:
    """Return (title, visible text) of an HTML document. Comments and markup never reach the text."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return tidy("".join(parser.title)), tidy("".join(parser.parts))


def decode_body(body: bytes, content_type_charset: str | None, is_html: bool) -> str:
    """Decode with the declared charset, a BOM, or an HTML <meta charset>; UTF-8 otherwise."""
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", "replace")
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body.decode("utf-16", "replace")
    charset = content_type_charset
    if not charset and is_html:
        match = _META_CHARSET.search(body[:4096])
        charset = match.group(1).decode("ascii") if match else None
    charset = _CHARSET_ALIASES.get((charset or "utf-8").lower(), charset or "utf-8")
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    return body.decode(charset, "replace")
