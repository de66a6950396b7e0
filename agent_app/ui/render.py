"""Model and document text made inert for st.markdown (markdown-it tokens), streamed or whole."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

from agent_app.textsafe import strip_invisible
from agent_app.ui.maths import with_math_kept

# Links to these hosts (and their subdomains) stay clickable; everything else is shown as text.
ALLOWED_LINK_HOSTS: tuple[str, ...] = (
    "aliyun.com",
    "aliyuncs.com",
    "alibabacloud.com",
    "qwen.ai",
    "github.com",
    "python.org",
    "streamlit.io",
    "langchain.com",
    "wikipedia.org",
)
# Streamlit renders GitHub-flavoured Markdown: tables, strikethrough and bare URLs are live there.
_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"]).disable("text_join")
_BARE_URL = re.compile(r"(?<![A-Za-z0-9])(?:[Hh][Tt][Tt][Pp][Ss]?://|[Ww][Ww][Ww]\.)[^\s<>`]+")
_URL_TAIL = ".,;:!?*_~'\")"
# In text: `$` would start LaTeX, `<` raw HTML, `](`/`][`/`]:` a link; `\` keeps its meaning.
_TEXT_SPECIAL = re.compile(r"[$<]|\](?=[(\[:])")
# Text with none of these has no image, link, URL, HTML, LaTeX or code span to rewrite.
_MAYBE_LIVE = re.compile(r"[$<\[\]`\\]|https?:|www\.", re.I)


def host_allowed(url: str, allow_hosts: tuple[str, ...] = ALLOWED_LINK_HOSTS) -> bool:
    """True for an http(s) URL whose host is an allowlisted domain or one of its subdomains."""
    url = url.strip().strip("<>")
    if url.lower().startswith("www."):
        url = "https://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower().rstrip(".")
    if (
        parts.scheme.lower() not in ("http", "https")
        or not host
        or parts.username
        or parts.password
    ):
        return False
    return any(host == h or host.endswith("." + h) for h in allow_hosts)


def _code(text: str) -> str:
    """Inline code that cannot be closed early by backticks inside it."""
    text = text.replace("\n", " ")
    ticks = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    padded = text.startswith("`") or text.endswith("`")
    return f"{ticks} {text} {ticks}" if padded else f"{ticks}{text}{ticks}"


def _escape(text: str, cell: bool = False) -> str:
    text = _TEXT_SPECIAL.sub(lambda m: "\\" + m.group(0), text)
    return text.replace("|", "\\|") if cell else text


def _escape_label(text: str) -> str:
    return re.sub(r"([\[\]<$\\`*_])", r"\\\1", text.replace("\n", " "))


class _Inline:
    """Writes one inline token's children back as Markdown, with every live part made inert."""

    def __init__(self, allow: tuple[str, ...], cell: bool) -> None:
        self.allow, self.cell = allow, cell

    def render(self, tokens: Sequence[Token]) -> str:
        tokens = _joined_text(tokens)
        out: list[str] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.type == "link_open":
                end = self._close_of(tokens, i)
                out.append(self._link(tok, tokens[i + 1 : end]))
                i = end + 1
                continue
            out.append(self._one(tok))
            i += 1
        return "".join(out)

    @staticmethod
    def _close_of(tokens: Sequence[Token], start: int) -> int:
        depth = 0
        for j in range(start, len(tokens)):
            depth += {"link_open": 1, "link_close": -1}.get(tokens[j].type, 0)
            if depth == 0:
                return j
        return len(tokens) - 1

    def _one(self, tok: Token) -> str:
        kind = tok.type
        if kind == "text":
            return self._text(tok.content)
        if kind == "text_special":  # a backslash escape or an entity, as written
            return tok.markup
        if kind == "code_inline":
            return _code(tok.content)
        if kind == "softbreak":
            return "\n"
        if kind == "hardbreak":
            return "  \n"
        if kind == "image":
            src = str(tok.attrs.get("src", ""))
            label = "\\[image: " + _escape_label(tok.content).strip() + "\\]"
            return f"[{label}]({src})" if host_allowed(src, self.allow) else label
        if kind == "html_inline":
            return _escape(tok.content, self.cell)
        if kind.endswith(("_open", "_close")):  # emphasis, strong, strikethrough
            return tok.markup
        return _escape(tok.content, self.cell)

    def _link(self, tok: Token, inner: Sequence[Token]) -> str:
        href = str(tok.attrs.get("href", ""))
        if tok.markup in ("autolink", "linkify"):
            return href if host_allowed(href, self.allow) else _code(href)
        text = self.render(inner)
        if host_allowed(href, self.allow):
            return f"[{text}]({href.replace('(', '%28').replace(')', '%29')})"
        return f"{text} ({_code(href)})" if href else text

    def _text(self, text: str) -> str:
        """Plain text: bare URLs outside the allowlist become code (GFM would link them)."""
        out, pos = [], 0
        for m in _BARE_URL.finditer(text):
            core = m.group(0).rstrip(_URL_TAIL)
            out.append(_escape(text[pos : m.start()], self.cell))
            out.append(core if host_allowed(core, self.allow) else _code(core))
            pos = m.start() + len(core)
        out.append(_escape(text[pos:], self.cell))
        return "".join(out)


def _joined_text(tokens: Sequence[Token]) -> list[Token]:
    """Adjacent text tokens as one (unmatched `_`/`*` split them; a URL must stay whole)."""
    out: list[Token] = []
    for tok in tokens:
        if tok.type == "text" and out and out[-1].type == "text":
            out[-1] = out[-1].copy(content=out[-1].content + tok.content)
        else:
            out.append(tok)
    return out


def _replace_tail(line: str, old: str, new: str) -> str:
    """`line` with its content part `old` (after any container prefix) replaced by `new`."""
    at = line.rfind(old) if old else -1
    if at >= 0 and not line[at + len(old) :].strip():
        return line[:at] + new + line[at + len(old) :]
    at = line.find(old) if old else -1  # an ATX heading's closing #s follow the content
    if at >= 0:
        return line[:at] + new + line[at + len(old) :]
    prefix = re.match(r"^[ \t>]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)?", line)
    return (prefix.group(0) if prefix else "") + new


def _rewrite_inline(lines: list[str], tok: Token, allow: tuple[str, ...]) -> None:
    if tok.map is None:
        return
    new = _Inline(allow, cell=False).render(tok.children or [])
    if new == tok.content:
        return
    first = tok.map[0]
    old_lines, new_lines = tok.content.split("\n"), new.split("\n")
    if len(old_lines) != len(new_lines):  # cannot happen (one line per break); stay safe anyway
        new_lines = [" ".join(new_lines)] + [""] * (len(old_lines) - 1)
    for k, (old, text) in enumerate(zip(old_lines, new_lines, strict=True)):
        nl = "\n" if lines[first + k].endswith("\n") else ""
        lines[first + k] = _replace_tail(lines[first + k].rstrip("\n"), old, text) + nl


def _rewrite_row(lines: list[str], row: int, cells: list[Token], allow: tuple[str, ...]) -> None:
    new = [_Inline(allow, cell=True).render(c.children or []) for c in cells]
    if new != [c.content for c in cells]:
        nl = "\n" if lines[row].endswith("\n") else ""
        lines[row] = "| " + " | ".join(new) + " |" + nl


def _neutralise_lines(lines: list[str], start: int, end: int, allow: tuple[str, ...]) -> None:
    """Raw HTML blocks and reference definitions: shown as text, bare URLs as code."""
    text = _Inline(allow, cell=False)._text
    for k in range(start, min(end, len(lines))):
        line = text(lines[k])
        lines[k] = line.replace("[", "\\[", 1) if line.lstrip().startswith("[") else line


@lru_cache(maxsize=4096)
def _sanitize(text: str, allow: tuple[str, ...]) -> str:
    return with_math_kept(strip_invisible(text), lambda rest: _inert(rest, allow))


def _inert(text: str, allow: tuple[str, ...]) -> str:
    if not _MAYBE_LIVE.search(text):
        return text  # plain prose (headings, lists, emphasis, tables): nothing to parse
    lines = text.splitlines(keepends=True)
    covered = [False] * len(lines)
    tokens = _MD.parse(text)
    row_cells: dict[int, list[Token]] = {}
    for index, tok in enumerate(tokens):
        if tok.map is not None and tok.level == 0:
            for k in range(tok.map[0], min(tok.map[1], len(lines))):
                covered[k] = True
        if tok.type == "html_block" and tok.map is not None:
            _neutralise_lines(lines, tok.map[0], tok.map[1], allow)
        elif tok.type == "inline" and tok.map is not None:
            if index and tokens[index - 1].type in ("th_open", "td_open"):
                row_cells.setdefault(tok.map[0], []).append(tok)
            else:
                _rewrite_inline(lines, tok, allow)
    for row, cells in row_cells.items():
        _rewrite_row(lines, row, cells, allow)
    for k, seen in enumerate(covered):
        if not seen and lines[k].strip():  # only link reference definitions are left uncovered
            _neutralise_lines(lines, k, k + 1, allow)
    return "".join(lines)


def sanitize_markdown(text: str, allow_hosts: tuple[str, ...] = ALLOWED_LINK_HOSTS) -> str:
    """Markdown safe to render.

    Images become `[image: alt]`, foreign links plain text, raw HTML and a lone `$` escaped,
    invisible characters dropped; LaTeX kept as math for KaTeX; code blocks and spans untouched.
    """
    return _sanitize(text if isinstance(text, str) else str(text), tuple(allow_hosts))


class LiveMarkdown:
    """Streamed text in one placeholder, re-rendered whole and sanitized at each step.

    What is on screen is always exactly `sanitize_markdown(prefix)` (an open link stays inert).
    """

    def __init__(
        self,
        placeholder: Any,
        *,
        min_interval: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.placeholder, self.min_interval, self.clock = placeholder, min_interval, clock
        self.text = ""
        self._shown: str | None = None
        self._next = float("-inf")

    def add(self, piece: str) -> None:
        """Append streamed text; re-render when the last render is old enough."""
        self.text += piece
        if self.clock() >= self._next:
            self.flush()

    def flush(self) -> None:
        """Render what has not been shown yet (end of a segment or of the turn)."""
        started = self.clock()
        shown = sanitize_markdown(self.text)
        if shown != self._shown:
            self.placeholder.markdown(shown)
            self._shown = shown
        # Each render parses the whole text: a long answer renders less often, so that rendering
        # never takes more than about a quarter of the time.
        now = self.clock()
        self._next = now + max(self.min_interval, 3 * (now - started))
